rule check_inputs:
    input:
        maps=list(
            dict.fromkeys(
                f
                for scan in SCANS + PREDICT_ONLY
                for f in eds_files_of(scan) + haadf_files_of(scan)
            )
        ),
    output:
        report="results/qc/inputs.json",
    log:
        "logs/check_inputs.log",
    localrule: True
    conda:
        "../../envs/preprocess.yaml"
    params:
        eds={scan: eds_files_of(scan) for scan in SCANS},
        haadf={
            scan: haadf_files_of(scan)[0]
            for scan in SCANS + PREDICT_ONLY
            if haadf_files_of(scan)
        },
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
        # Maps are checked first: a wrong unit or shape stops the run before any heavy job.
        # ancient: a re-check (a scan added, a map re-exported) does not redo every conversion.
        checked=ancient("results/qc/inputs.json"),
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
