from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.demo import DemoSettings, generate_demo_scan

demo = snakemake.params.demo
generate_demo_scan(
    settings=DemoSettings(
        scan_shape=tuple(snakemake.params.scan_shape),
        pattern_size=demo["pattern_size"],
        n_scans=len(snakemake.params.scans),
        seed=demo["seed"],
        electrons_per_pattern=demo["electrons_per_pattern"],
        xray_counts_per_pixel=demo["xray_counts_per_pixel"],
        descan_px=demo["descan_px"],
        oxide_edge=demo["oxide_edge"],
        oxide_width=demo["oxide_width"],
    ),
    scan_index=snakemake.params.scans.index(snakemake.wildcards.scan),
    diffraction_path=snakemake.output.diffraction,
    eds_paths=dict(zip(snakemake.params.demo_elements, snakemake.output.eds)),
    haadf_path=snakemake.output.haadf,
    truth_path=snakemake.output.truth,
    dose=demo["predict_only_dose"] if snakemake.wildcards.scan in snakemake.params.predict_only else 1.0,
    extra_band=demo["predict_only_oxide_band"] if snakemake.wildcards.scan in snakemake.params.predict_only else None,
    counts_paths=dict(zip(snakemake.params.demo_elements, snakemake.output.counts)),
)
