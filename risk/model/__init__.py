"""The risk model: labels, training, evaluation, grades, reasons and stored scores.

The flow, one module each:

- ``labels``: what counts as a bad outcome in the months after an as-of date, read from
  the store, and the population of enterprises that is scored;
- ``dataset``: monthly as-of dates split by time (train, validation, test, each a
  horizon apart), feature matrices per date and their labels;
- ``train``: LightGBM on all features and, for comparison, on the non-graph features
  only; early stopping and Platt calibration on the validation window;
- ``evaluation`` and ``report``: the metrics on the test window and the HTML report;
- ``artefact``: the saved model with its contract (features, versions, data fingerprint);
- ``grades``: A/B/C/D from scores by class mix or probability bands;
- ``evidence`` and ``reasons``: top contributions as catalog sentences, with graph evidence;
- ``scores``: scoring a date, the stored scores, and reading a grade back later.

``jobs`` ties them to the store and the data home for the command line and benchmarks.
"""
