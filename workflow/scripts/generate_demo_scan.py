from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.demo import DemoSettings, generate_scan, write_scan

settings = DemoSettings(
    scan_shape=tuple(snakemake.params.scan_shape),
    pattern_size=snakemake.params.demo["pattern_size"],
    n_scans=len(snakemake.params.scans),
    seed=snakemake.params.demo["seed"],
    electrons_per_pattern=snakemake.params.demo["electrons_per_pattern"],
    xray_counts_per_pixel=snakemake.params.demo["xray_counts_per_pixel"],
    descan_px=snakemake.params.demo["descan_px"],
)
scan = generate_scan(settings, snakemake.params.scans.index(snakemake.wildcards.scan))
write_scan(
    scan,
    diffraction_path=snakemake.output.diffraction,
    eds_paths=dict(zip(snakemake.params.demo_elements, snakemake.output.eds)),
    haadf_path=snakemake.output.haadf,
    truth_path=snakemake.output.truth,
)
