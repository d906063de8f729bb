from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.tables import join_tables

for table in ("validation", "recommended", "intervals"):
    join_tables(snakemake.input[table], snakemake.output[table])
