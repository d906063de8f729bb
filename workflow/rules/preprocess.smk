rule check_inputs:
    input:
        maps=lambda wc: list(
            dict.fromkeys(eds_files_of(wc.scan) + haadf_files_of(wc.scan))
        ),
    output:
        report="results/qc/{scan}/inputs.json",
    log:
        "logs/check_inputs/{scan}.log",
    localrule: True
    conda:
        "../../envs/preprocess.yaml"
    params:
        eds=lambda wc: {wc.scan: eds_files_of(wc.scan)} if eds_files_of(wc.scan) else {},
        haadf=lambda wc: {wc.scan: f for f in haadf_files_of(wc.scan)},
        elements=ELEMENTS,
        scan_shape=config["scan_shape"],
        eds_unit=config["data"]["eds_unit"],
        haadf_title=config["data"]["haadf_title"],
        pixel=[
            config["calibration"]["r_pixel_size"],
            config["calibration"]["r_pixel_units"],
        ],
    script:
        "../scripts/check_inputs.py"


rule convert_scan:
    input:
        # The scan's maps are checked first: a wrong unit or shape stops before the heavy job.
        # One check per scan, so a map re-exported or a scan added re-converts only that scan.
        checked="results/qc/{scan}/inputs.json",
        diffraction=diffraction_file,
        haadf=haadf_files,
    output:
        h5=converted_h5("results/converted/{scan}.h5"),
        origins="results/qc/{scan}/origins.json",
        virtual_images="results/qc/{scan}/virtual_images.npz",
        scan_order="results/qc/{scan}/scan_order.json",
    log:
        "logs/convert_scan/{scan}.log",
    benchmark:
        "benchmarks/convert_scan/{scan}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        scan_shape=config["scan_shape"],
        calibration=config["calibration"],
        conversion=conversion_settings(),
        haadf_title=config["data"]["haadf_title"],
    script:
        "../scripts/convert_scan.py"


rule cache_scan:
    input:
        h5="results/converted/{scan}.h5",
        eds=eds_files,
        haadf=haadf_files,
    output:
        cache="results/cache/{scan}.npz",
    log:
        "logs/cache_scan/{scan}.log",
    benchmark:
        "benchmarks/cache_scan/{scan}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    threads: 1
    resources:
        mem_mb=3000,
    params:
        elements=ELEMENTS,
        # One path per element, in order (a container file repeats: maps are picked by title).
        eds=lambda wc: eds_files_of(wc.scan),
        scan_shape=config["scan_shape"],
        eds_unit=config["data"]["eds_unit"],
        cache=config["cache"],
        haadf_title=config["data"]["haadf_title"],
    script:
        "../scripts/cache_scan.py"
