from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.conversion import Calibration, ConversionSettings, convert_scan

convert_scan(
    diffraction_path=snakemake.input.diffraction,
    haadf_path=snakemake.input.haadf[0] if snakemake.input.haadf else None,
    scan_shape=tuple(snakemake.params.scan_shape),
    calibration=Calibration(**snakemake.params.calibration),
    settings=ConversionSettings(**snakemake.params.conversion),
    output_h5=snakemake.output.h5,
    origin_json=snakemake.output.origins,
    virtual_npz=snakemake.output.virtual_images,
    scan_order_json=snakemake.output.scan_order,
    haadf_title=snakemake.params.haadf_title,
)
