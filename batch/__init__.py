"""The batch path: fitting parameters and whole-file transforms with pandas and scikit-learn.

Never deployed and never imported by a Lambda; it calls the same library functions the
stream Lambdas use, so batch and stream results are the same numbers.
"""
