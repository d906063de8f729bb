from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.figures import training_and_accuracy

training_and_accuracy(
    history_csv=snakemake.input.history,
    prediction_path=snakemake.input.prediction[0],
    kind=snakemake.params.prediction,
    title=snakemake.params.title,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
)
