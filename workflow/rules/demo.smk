if config["demo"]["enabled"]:

    rule generate_demo_scan:
        output:
            diffraction=raw_file(config["data"]["diffraction"], "{scan}"),
            eds=[raw_file(config["data"]["eds"], "{scan}", el) for el in DEMO_ELEMENTS],
            haadf=raw_file(config["data"]["haadf"] or DEMO_HAADF_TEMPLATE, "{scan}"),
            truth=os.path.join(config["data"]["folder"], "truth", "{scan}.npz"),
            counts=[
                raw_file(config["data"]["eds_counts"], "{scan}", el)
                for el in DEMO_ELEMENTS
                if config["data"]["eds_counts"]
            ],
        log:
            "logs/generate_demo_scan/{scan}.log",
        benchmark:
            "benchmarks/generate_demo_scan/{scan}.tsv"
        conda:
            "../../envs/preprocess.yaml"
        params:
            scans=SCANS + PREDICT_ONLY,
            predict_only=PREDICT_ONLY,
            scan_shape=config["scan_shape"],
            demo=config["demo"],
            demo_elements=list(DEMO_ELEMENTS),
        script:
            "../scripts/generate_demo_scan.py"
