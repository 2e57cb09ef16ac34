"""The Spark path against the embedded one on a generated city, in local mode (Java 17+ and
pyspark from the test extra): the store's history streamed out and cut on Spark is the
snapshot, the same features and the same grades, and the settings and refusals of the Spark
session."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from cities import loaded_city
from sklearn.metrics import normalized_mutual_info_score

from graph_model.rates import RateTable
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot, take_snapshot
from graph_model.store.ladybug import LadybugStore
from risk.data_home import DataHome
from risk.features import FeatureMatrix, compute_features
from risk.features.community import communities
from risk.features.context import FeatureContext
from risk.model import jobs
from risk.model.artefact import ModelArtefact
from risk.model.scores import score_snapshot
from risk.spark.features import read_spark_features
from risk.spark.graph import label_propagation
from risk.spark.jobs import spark_features_job, spark_history, spark_score_job
from risk.spark.local import bucket_snapshot
from risk.spark.session import (
    SparkUnavailableError,
    find_java,
    read_config_file,
    spark_options,
    spark_session,
)
from risk.spark.tables import SparkSnapshot

ENTERPRISES = 6_000
SEED = 3
PAGERANK_RTOL = 1e-5
"""listed_pagerank: the single machine divides by float32 degrees, Spark by float64 ones."""
GRADES_AGREE = 0.995
EARLIER_DAYS = 400
"""The export of the last day, cut on this many days before too (fewer firms, relations
not yet begun or since ended, dates after it blanked)."""
LPA_NMI = 0.8
"""Label propagation against Leiden on this city: NMI 0.856 measured (docs/scale.md)."""


@dataclass(frozen=True)
class City:
    settings: Settings
    snapshot: Snapshot
    embedded: FeatureMatrix
    artefact: ModelArtefact


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    """A city loaded, trained on and featured on its last day; Spark in local mode."""
    root = tmp_path_factory.mktemp("spark")
    settings = Settings(
        home=root / "home",
        train_threads=2,
        spark_master="local[2]",
        spark_shuffle_partitions=2,
    )
    loaded_city(root, settings, ENTERPRISES, SEED)
    with LadybugStore(settings.embedded_store_path, read_only=True) as store:
        artefact = jobs.train_job(store, settings)
        snapshot = take_snapshot(store, jobs.observed_through(store, settings))
    DataHome(settings).save_snapshot(snapshot)
    return City(settings, snapshot, compute_features(snapshot), artefact)


def test_spark_features_and_grades_are_the_embedded_ones(city: City) -> None:
    run = spark_features_job(city.settings, city.snapshot.as_of, RateTable())
    assert run.enterprises == city.snapshot.n_enterprises
    assert run.persons == city.snapshot.n_nodes - city.snapshot.n_enterprises
    spark = read_spark_features(run.folder)
    assert spark.ids.equals(city.embedded.ids)
    assert spark.names == city.embedded.names
    for name in city.embedded.names:
        a, b = city.embedded.column(name), spark.column(name)
        if name == "listed_pagerank":
            np.testing.assert_allclose(b, a, rtol=PAGERANK_RTOL, atol=1e-9, err_msg=name)
        else:
            np.testing.assert_array_equal(b, a, err_msg=name)

    config = jobs.ModelConfig.from_settings(city.settings)
    one = score_snapshot(city.artefact, city.snapshot, city.embedded, config.policy, config.reasons)
    path, two = spark_score_job(city.settings, city.snapshot)
    assert path.is_file()
    assert two["id"].equals(one["id"])
    grades = np.array(one["grade"].to_pylist()) == np.array(two["grade"].to_pylist())
    assert grades.mean() >= GRADES_AGREE
    np.testing.assert_allclose(two["score"].to_numpy(), one["score"].to_numpy(), atol=1e-6)
    explained = [r is not None for r in one["reasons"].to_pylist()]
    assert explained == [r is not None for r in two["reasons"].to_pylist()]
    assert math.ceil(0.05 * len(explained)) <= sum(explained)


def _collected(snap: SparkSnapshot) -> Snapshot:
    """A snapshot cut on Spark, collected into one machine's form (node and edge positions
    checked on the way)."""
    parts = {
        "enterprises": snap.enterprises.toArrow(),
        "persons": snap.persons.toArrow(),
        "records": snap.records.toArrow(),
        **{f"rel:{t}": frame.toArrow() for t, frame in snap.relations.items()},
    }
    collected, nodes = bucket_snapshot(snap.as_of, parts, snap.schemas)
    np.testing.assert_array_equal(nodes, np.arange(snap.n_nodes))
    assert collected.n_enterprises == snap.n_enterprises
    for t in snap.relations:
        edges = np.sort(parts[f"rel:{t}"]["edge"].to_numpy())
        np.testing.assert_array_equal(edges, np.arange(len(edges)), err_msg=t)
    return collected


def test_the_store_export_cut_on_spark_is_the_snapshot(city: City) -> None:
    """The streamed export of the store, cut on the cluster, is ``take_snapshot`` table for
    table: the node ids in index order, every relation's CSR and properties, the records."""
    last = city.snapshot.as_of
    folder = spark_history(city.settings, last)
    with (
        LadybugStore(city.settings.embedded_store_path, read_only=True) as store,
        spark_session(city.settings) as spark,
    ):
        for day in (last - timedelta(days=EARLIER_DAYS), last):
            want = take_snapshot(store, day)
            got = _collected(SparkSnapshot.cut(spark, folder, day))
            assert got.n_enterprises < city.snapshot.n_enterprises or day == last
            assert got.enterprises.equals(want.enterprises), day
            assert got.persons.equals(want.persons), day
            assert list(got.relations) == list(want.relations)
            for t, rel in want.relations.items():
                np.testing.assert_array_equal(got.relations[t].indptr, rel.indptr, err_msg=t)
                np.testing.assert_array_equal(got.relations[t].indices, rel.indices, err_msg=t)
                assert got.relations[t].properties.equals(rel.properties), (day, t)
            assert got.records.sort_by("id").equals(want.records.sort_by("id")), day


def test_label_propagation_agrees_with_leiden_by_nmi(city: City) -> None:
    related = FeatureContext(city.snapshot).related.tocoo()
    n = city.snapshot.n_enterprises
    with spark_session(city.settings) as spark:
        nodes = spark.createDataFrame(pa.table({"node": np.arange(n, dtype=np.int64)}))
        edges = spark.createDataFrame(
            pa.table({"a": related.row.astype(np.int64), "b": related.col.astype(np.int64)})
        )
        found = label_propagation(nodes, edges).toArrow().sort_by("node")
    leiden = communities(FeatureContext(city.snapshot).related)
    assert normalized_mutual_info_score(leiden, found["community"].to_numpy()) > LPA_NMI


def test_missing_java_is_refused_with_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(SparkUnavailableError, match=r"Java 17 or later.*holds no bin/java"):
        find_java()
    with pytest.raises(SparkUnavailableError), spark_session(Settings(home=tmp_path)):
        pass


def test_settings_and_the_config_file_make_the_options(tmp_path: Path) -> None:
    (tmp_path / "spark-defaults.conf").write_text(
        "# cluster\nspark.driver.memory   8g\nspark.master spark://x:7077\n"
    )
    settings = Settings(home=tmp_path, spark_master="local[3]", spark_shuffle_partitions=5)
    options = spark_options(settings)
    assert options["spark.driver.memory"] == "8g"
    assert options["spark.master"] == "local[3]"
    assert options["spark.sql.shuffle.partitions"] == "5"
    # In local mode the driver runs the tasks: it gets the executor memory by default.
    local = spark_options(Settings(home=tmp_path / "none", spark_executor_memory="6g"))
    assert local["spark.driver.memory"] == "6g"
    cluster = Settings(home=tmp_path / "none", spark_master="yarn", spark_executor_memory="6g")
    assert "spark.driver.memory" not in spark_options(cluster)
    (tmp_path / "bad.conf").write_text("driver.memory 8g\n")
    with pytest.raises(SparkUnavailableError, match=r"bad\.conf:1"):
        read_config_file(tmp_path / "bad.conf")


def test_the_command_line_refuses_spark_without_java(
    city: City, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    monkeypatch.setenv("CREDITGRAPH_HOME", str(city.settings.home))
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    day = city.snapshot.as_of.isoformat()
    runner = CliRunner()
    only = runner.invoke(app, ["features", "--as-of", day, "--engine", "spark", "--family", "own"])
    assert only.exit_code == 2
    assert "computes every family" in only.output
    for argv in (["features"], ["score", "--master", "local[1]"]):
        refused = runner.invoke(app, [*argv, "--as-of", day, "--engine", "spark"])
        assert refused.exit_code == SparkUnavailableError.exit_code, refused.output
        assert "needs Java 17 or later" in refused.output


def test_a_context_left_stopped_by_its_master_is_cleared_for_the_next_job(
    tmp_path: Path,
) -> None:
    """As when a master kills the application during start-up: the context stays
    registered, stopped; the job is refused with the master named and the next one runs."""
    from pyspark import SparkConf, SparkContext

    settings = Settings(home=tmp_path, spark_master="local[1]", spark_shuffle_partitions=1)
    left = SparkContext(conf=SparkConf().setMaster("local[1]").setAppName("killed"))
    left._jsc.sc().stop()  # the JVM side stops; Python still holds it
    refused = pytest.raises(SparkUnavailableError, match=r"did not start on master local\[1\]")
    with refused, spark_session(settings):
        pass
    with spark_session(settings) as spark:
        assert spark.range(3).count() == 3
