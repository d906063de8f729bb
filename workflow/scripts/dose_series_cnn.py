from edsmaps.logs import log_to

log_to(snakemake.log[0])

from functools import partial

from edsmaps.dose_series import predict_dose_series
from edsmaps.prediction import cnn_predictor

predict_dose_series(
    models=snakemake.params.models,
    cache_paths=dict(zip(snakemake.params.scans, snakemake.input.caches)),
    prediction_paths=snakemake.params.predictions,
    fractions=snakemake.params.fractions,
    seed=snakemake.params.seed,
    output_npz=snakemake.output.series,
    predictor=partial(
        cnn_predictor,
        batch_size=snakemake.params.batch_size,
        backend_settings=snakemake.params.backend,
    ),
)
