"""The data contract: event shapes, identifiers, the feature catalog, fitted parameters,
the transforms, time handling and the model's feature vector. Shared by every Lambda."""
