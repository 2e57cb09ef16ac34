"""A Spark session made from the settings, and a clear refusal when Spark cannot start.

The master, executor memory and shuffle partitions come from the settings
(``CREDITGRAPH_SPARK_MASTER``, ``CREDITGRAPH_SPARK_EXECUTOR_MEMORY``,
``CREDITGRAPH_SPARK_SHUFFLE_PARTITIONS``); any other Spark option from the data home's
``spark-defaults.conf`` (Spark's own format: ``spark.some.option value`` per line, ``#``
comments), which the three settings override. PySpark needs Java 17 or later: ``JAVA_HOME``
when set, else ``java`` on the path.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from graph_model.errors import CreditGraphError
from graph_model.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MIN_JAVA = 17
"""Spark 4 runs on Java 17 and later."""

CONFIG_FILE = "spark-defaults.conf"


class SparkUnavailableError(CreditGraphError):
    """Spark cannot start here: Java or PySpark is missing, or too old."""

    exit_code = 3


def java_version(java: str) -> int:
    """Major version of the ``java`` executable (8 for ``1.8``, 17 for ``17.0.15``)."""
    done = subprocess.run(
        [java, "-XshowSettings:properties", "-version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"java\.specification\.version = (\S+)", done.stderr)
    if found is None:
        raise SparkUnavailableError(f"{java} did not say its version; install Java {MIN_JAVA}+")
    version = found.group(1)
    return int(version.split(".")[1] if version.startswith("1.") else version.split(".")[0])


def find_java() -> str:
    """The Java Spark will run on, refused when missing or older than :data:`MIN_JAVA`."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if java is None or not Path(java).is_file():
        where = f"JAVA_HOME={home} holds no bin/java" if home else "no java on the PATH"
        raise SparkUnavailableError(
            f"--engine spark needs Java {MIN_JAVA} or later and {where}: install a JDK "
            f"(Debian: apt-get install openjdk-{MIN_JAVA}-jre-headless) or set JAVA_HOME"
        )
    version = java_version(java)
    if version < MIN_JAVA:
        raise SparkUnavailableError(
            f"--engine spark needs Java {MIN_JAVA} or later; {java} is Java {version}: "
            f"set JAVA_HOME to a newer one"
        )
    return java


def read_config_file(path: Path) -> dict[str, str]:
    """Options of a ``spark-defaults.conf`` file: key, whitespace, value; ``#`` comments."""
    options: dict[str, str] = {}
    if not path.is_file():
        return options
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or not parts[0].startswith("spark."):
            raise SparkUnavailableError(
                f"{path}:{number}: expected 'spark.option value', found {raw.strip()!r}"
            )
        options[parts[0]] = parts[1].strip()
    return options


def spark_options(settings: Settings) -> dict[str, str]:
    """Every option the session is built with: the config file's, then the settings'."""
    options = read_config_file(settings.home / CONFIG_FILE)
    options.update(
        {
            "spark.master": settings.spark_master,
            "spark.executor.memory": settings.spark_executor_memory,
            "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        }
    )
    if settings.spark_master.startswith("local"):
        # In local mode the driver's JVM runs the tasks (its default heap, 1 GB, runs out at
        # 1M firms): it gets the executor memory unless the config file says otherwise.
        options.setdefault("spark.driver.memory", settings.spark_executor_memory)
    options.setdefault("spark.ui.enabled", "false")
    options.setdefault("spark.ui.showConsoleProgress", "false")
    # Python workers run this interpreter (with CreditGraph installed); on a cluster set
    # spark.pyspark.python in the config file to the executors' own.
    options.setdefault("spark.pyspark.python", sys.executable)
    # Arrow batches between the JVM and Python (mapInArrow, applyInArrow): bounded memory.
    options.setdefault("spark.sql.execution.arrow.maxRecordsPerBatch", "100000")
    return options


@contextmanager
def spark_session(settings: Settings, app_name: str = "creditgraph") -> Iterator[SparkSession]:
    """A Spark session for one job, stopped afterwards; refused with what to install when
    Java or PySpark is missing."""
    find_java()
    try:
        from py4j.protocol import Py4JError
        from pyspark import SparkContext
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession
    except ImportError as missing:
        raise SparkUnavailableError(
            "--engine spark needs PySpark: pip install 'creditgraph[spark]'"
        ) from missing
    options = spark_options(settings)
    # The driver starts its Python workers with PYSPARK_PYTHON, not with the option (which
    # a cluster's executors read); a variable already set is the user's and stays.
    os.environ.setdefault("PYSPARK_PYTHON", options["spark.pyspark.python"])
    builder = SparkSession.builder.appName(app_name)
    for key, value in options.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except (Py4JError, PySparkException) as failed:
        # A context whose application the master killed (unreachable master, refused
        # resources) stays registered in this process: stop it so the next job starts clean.
        left = SparkContext._active_spark_context
        if left is not None:
            left.stop()
        cause = str(failed).strip().splitlines()[0] if str(failed).strip() else type(failed)
        raise SparkUnavailableError(
            f"Spark did not start on master {options['spark.master']}: {cause}"
        ) from failed
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
