"""Offline training: fitting parameters and whole-file transforms with pandas and scikit-learn.

Never deployed and never imported by a Lambda; it calls the same library functions the
stream Lambdas use, so offline and stream results are the same numbers.
"""
