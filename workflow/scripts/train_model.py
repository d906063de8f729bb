from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.model import ModelSettings
from edsmaps.training import TrainingSettings, train_variant

train_variant(
    cache_paths=dict(zip(snakemake.params.scans, snakemake.input.caches)),
    split_path=snakemake.input.split,
    settings=TrainingSettings(**snakemake.params.training),
    model_settings=ModelSettings(**snakemake.params.model),
    model_path=snakemake.output.model,
    history_path=snakemake.output.history,
    scaling_path=snakemake.output.scaling,
    manifest_path=snakemake.output.manifest,
    tensorboard_dir=snakemake.params.tensorboard_dir,
    threads=snakemake.threads,
    resume_dir=snakemake.params.resume_dir,
    provenance=snakemake.config,
)
