"""The heavy half of the pipeline on Apache Spark: features and scores of a whole nation.

``session`` starts a Spark session from the settings (``CREDITGRAPH_SPARK_*`` and the data
home's ``spark-defaults.conf``), refusing clearly when Java or PySpark is missing;
``tables`` writes a snapshot as partitioned Parquet that Spark reads in parallel;
``features`` computes the feature catalog on it; ``scores`` applies the trained model across
the cluster. Local mode (``local[*]``) runs the same code on one machine (docs/scale.md).
"""
