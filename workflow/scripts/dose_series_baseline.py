from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.baselines import baseline_predictor
from edsmaps.dose_series import predict_dose_series

predict_dose_series(
    models=snakemake.params.models,
    cache_paths=dict(zip(snakemake.params.scans, snakemake.input.caches)),
    prediction_paths=snakemake.params.predictions,
    fractions=snakemake.params.fractions,
    seed=snakemake.params.seed,
    output_npz=snakemake.output.series,
    predictor=baseline_predictor,
)
