"""The settings of the data, the store and the risk model: the one settings object every
command reads. Read from the environment (prefix ``CREDITGRAPH_``) when a command starts, then
passed in; never read at import time. The HTTP API and the board read these and their API keys
(``access.settings.AccessSettings``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SALT = "creditgraph-development-salt"
MIN_PRODUCTION_SALT_LENGTH = 16
"""A salt shorter than this is guessable with the ID numbers' small space (18 characters, a
region, a birth date and a serial); 16 random characters are 64 bits and more."""


class Settings(BaseSettings):
    """Configuration of a CreditGraph installation."""

    # Errors never echo the input: it holds secrets (API keys, the salt, the Neo4j password).
    model_config = SettingsConfigDict(
        env_prefix="CREDITGRAPH_", extra="forbid", hide_input_in_errors=True
    )

    # Data home: the embedded store, snapshots, models, plans, rejects and logs live here.
    home: Path = Field(default=Path("var"))
    # "development" allows the built-in salt; "production" refuses unsafe defaults.
    environment: Literal["development", "production"] = "development"
    # Salt of the person key hash. Changing it changes every person key: set it once.
    person_id_salt: str = DEVELOPMENT_SALT
    # Rows written per store transaction during a load. 0 (the default) chooses by store:
    # 1,000,000 for the embedded one, 100,000 for Neo4j, whose server holds a transaction's
    # whole change set in its heap until commit (measured in docs/benchmarks.md).
    load_batch_rows: int = Field(default=0, ge=0)
    # Buffer pool of the embedded database in bytes; 0 lets LadybugDB choose (80 % of RAM).
    embedded_buffer_pool_bytes: int = Field(default=0, ge=0)
    # Bolt URI of a Neo4j 5 server (neo4j://host:7687, neo4j+s://… for TLS). When set, every
    # command uses Neo4j instead of the embedded store; unset (the default), the embedded one.
    neo4j_uri: str | None = None
    # Neo4j user the store logs in as.
    neo4j_user: str = "neo4j"
    # That user's password; a secret, never printed nor put in an error message.
    neo4j_password: SecretStr = SecretStr("")
    # Neo4j database (one server can hold several) that holds the graph.
    neo4j_database: str = "neo4j"
    # Rows per `UNWIND $rows` statement when writing to Neo4j. A load transaction
    # (load_batch_rows) sends several; 10,000 keeps each request to a few MB (docs/neo4j.md).
    neo4j_write_batch_rows: int = Field(default=10_000, gt=0)

    # -- risk model (docs/model.md) --
    # Months after an as-of date in which a bad outcome counts: the label horizon.
    label_horizon_months: int = Field(default=12, ge=1, le=60)
    # Events that make an enterprise bad in that window: outcomes of domain.yaml (docs/model.md
    # lists them; kinds may be narrowed as kind:value). Empty: the domain's defaults. JSON in
    # the environment. `train --labels FILE` takes the file's outcomes instead.
    label_events: list[str] | None = None
    # Last day the loaded data are complete for: label windows must end by then. Empty: the
    # latest event of the labels file when training with one, else the latest record start in
    # the store.
    data_through: date | None = None
    # Month-ends in the training, validation and test windows (each a horizon after the last).
    train_months: int = Field(default=12, ge=1)
    valid_months: int = Field(default=3, ge=1)
    test_months: int = Field(default=3, ge=1)
    # Good enterprises kept per bad one in each training month (and in the validation rows
    # early stopping reads), drawn with train_seed: class imbalance and training time; 0 keeps
    # them all. Calibration and every metric use all validation and test rows.
    train_negatives_per_positive: float = Field(default=10.0, ge=0)
    # Seed of LightGBM and of the training sample: the same data and seed give the same model.
    train_seed: int = 7
    # LightGBM threads; 0 means one per core. Results repeat for the same count (recorded).
    train_threads: int = Field(default=0, ge=0)
    # Months whose features are computed at once when training needs them: worker processes
    # sharing the store's history, each holding one month's snapshot and features besides
    # (about 3 GB at 1M firms); 0 means one per core.
    feature_workers: int = Field(default=0, ge=0)
    # How grades are cut from scores: "mix" (shares by rank, grade_mix) or "bands" (fixed
    # probabilities, grade_bands).
    grade_method: Literal["mix", "bands"] = "mix"
    # Share of the scored enterprises per class, lowest risk first (DOMAIN.md's typical city
    # mix). JSON in the environment, e.g. {"A": 0.65, "B": 0.25, "C": 0.07, "D": 0.03}.
    grade_mix: dict[str, float] = Field(
        default_factory=lambda: {"A": 0.70, "B": 0.22, "C": 0.06, "D": 0.02}
    )
    # Lower probability bound of each class, lowest risk first; the first is 0.
    grade_bands: dict[str, float] = Field(
        default_factory=lambda: {"A": 0.0, "B": 0.03, "C": 0.10, "D": 0.30}
    )
    # Reasons kept per enterprise: its largest positive contributions.
    reasons_top_k: int = Field(default=3, ge=1, le=20)
    # Share of the worst scores explained (with graph evidence) when a date is scored; the
    # others are explained on request (creditgraph explain).
    reasons_share: float = Field(default=0.05, ge=0, le=1)
    # Evidence items (paths, circle, shared contacts) kept per reason.
    reasons_evidence_items: int = Field(default=5, ge=1, le=100)

    # -- Spark (features and scores with --engine spark; docs/scale.md) --
    # Spark master: local[*] runs on this machine's cores; spark://host:7077, yarn or
    # k8s://… run the same job on a cluster. Other Spark options: the data home's
    # spark-defaults.conf (risk/spark/session.py).
    spark_master: str = "local[*]"
    # Memory of each executor; in local mode, where the driver's JVM runs the tasks, the
    # driver's (unless spark.driver.memory is in spark-defaults.conf).
    spark_executor_memory: str = "4g"
    # Partitions of every shuffle (joins, group-bys): about 2-3 per executor core; 200 MB
    # to 1 GB of shuffled data each at national scale.
    spark_shuffle_partitions: int = Field(default=8, ge=1)
    # Communities on Spark: "leiden", the single machine's method run on the driver over the
    # graph the cluster builds (the same features; the driver holds the enterprise graph),
    # or "label_propagation" on the cluster (other communities: retrain the model on them).
    spark_community: Literal["leiden", "label_propagation"] = "leiden"

    @model_validator(mode="after")
    def _choose_load_batch_rows(self) -> Settings:
        if self.load_batch_rows == 0:
            self.load_batch_rows = 100_000 if self.neo4j_uri else 1_000_000
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        salt = self.person_id_salt
        if self.environment == "production" and (
            salt == DEVELOPMENT_SALT
            or len(salt) < MIN_PRODUCTION_SALT_LENGTH
            or len(set(salt)) < MIN_PRODUCTION_SALT_LENGTH // 2
        ):
            raise ValueError(
                "CREDITGRAPH_PERSON_ID_SALT must be a secret of at least "
                f"{MIN_PRODUCTION_SALT_LENGTH} random characters in production, set once per "
                "installation (for example the output of "
                "`python -c 'import secrets; print(secrets.token_hex(16))'`)"
            )
        if self.neo4j_uri and not self.neo4j_password.get_secret_value():
            raise ValueError(
                "CREDITGRAPH_NEO4J_PASSWORD must be set when CREDITGRAPH_NEO4J_URI is set"
            )
        return self

    @property
    def embedded_store_path(self) -> Path:
        """Directory of the embedded LadybugDB database."""
        return self.home / "store" / "graph.lbdb"

    @property
    def rejects_dir(self) -> Path:
        """Where loaders write reject files."""
        return self.home / "rejects"

    @property
    def snapshots_dir(self) -> Path:
        """Where snapshots are saved."""
        return self.home / "snapshots"

    @property
    def features_dir(self) -> Path:
        """Where feature matrices are saved, one Parquet file per as-of date."""
        return self.home / "features"

    @property
    def models_dir(self) -> Path:
        """Where trained models are saved, one folder per model version."""
        return self.home / "models"

    @property
    def scores_dir(self) -> Path:
        """Where scores and grades are stored, one folder per as-of date."""
        return self.home / "scores"

    @property
    def plans_dir(self) -> Path:
        """Where sampling plans are recorded, one JSON file per plan."""
        return self.home / "plans"

    @property
    def inspectors_dir(self) -> Path:
        """Inspector files (执法检查人员名录库) that API plan draws name, CSV or Parquet."""
        return self.home / "inspectors"

    @property
    def rates_path(self) -> Path:
        """The currency rate table (graph_model/rates.py): CNY per unit of each currency."""
        return self.home / "rates.csv"

    @property
    def supervision_path(self) -> Path:
        """The supervision registry (SQLite): warnings, their states and runs, watchlists."""
        return self.home / "supervision.sqlite"
