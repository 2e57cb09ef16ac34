"""The heavy half of the pipeline on Apache Spark: features and scores of a whole nation.

``session`` starts a Spark session from the settings (``CREDITGRAPH_SPARK_*`` and the data
home's ``spark-defaults.conf``), refusing clearly when Java or PySpark is missing;
``export`` streams the store's history up to a date out as partitioned Parquet, a page at a
time (either backend); ``tables`` cuts the snapshot of a day from it on the cluster;
``features`` computes the feature catalog on that; ``scores`` applies the trained model across
the cluster. Local mode (``local[*]``) runs the same code on one machine (docs/scale.md).
"""
