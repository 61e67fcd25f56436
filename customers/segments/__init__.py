"""Customer segments: clustering customers on their profile features (k-means, k chosen by silhouette), naming
each segment in plain words from its centroid, and matching a new run's clusters to the segments already known so
that codes stay put when the data did not change.

`features`, `clustering`, `describe` and `matching` are pure (numpy/scikit-learn, no database); `models` holds the
run history; the writes are in `customers.segmentation`.
"""
