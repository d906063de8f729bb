from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.caching import CacheSettings, build_cache

build_cache(
    converted_h5=snakemake.input.h5,
    elements=snakemake.params.elements,
    eds_paths=dict(zip(snakemake.params.elements, snakemake.params.eds)),
    haadf_path=snakemake.input.haadf[0] if snakemake.input.haadf else None,
    scan_shape=tuple(snakemake.params.scan_shape),
    eds_unit=snakemake.params.eds_unit,
    settings=CacheSettings(**snakemake.params.cache),
    output_npz=snakemake.output.cache,
    haadf_title=snakemake.params.haadf_title,
)
