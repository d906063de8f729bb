# The figures of a strategy the run does not have are not defined (see FIGURE_STRATEGY_KEYS).

if FIG_SINGLE is not None:

    rule fig1_single_training_and_accuracy:
        input:
            history=model_file(FIG_SINGLE, FIG_VARIANT, "history.csv"),
            prediction=prediction_files(
                FIG_SINGLE, FIG_VARIANT, test_scans(FIG_SINGLE)[:1]
            ),
        output:
            png=report(
                "results/figures/fig1_single_training_and_accuracy.png",
                caption="../report/fig1_single_training_and_accuracy.rst",
                category="Figures",
            ),
            pdf="results/figures/fig1_single_training_and_accuracy.pdf",
        log:
            "logs/figures/fig1_single_training_and_accuracy.log",
        localrule: True
        conda:
            "../../envs/plots.yaml"
        params:
            prediction=FIGURES["prediction"],
            title=figure_title("Training and accuracy", FIG_SINGLE),
        script:
            "../scripts/plot_training_and_accuracy.py"


if FIG_EXTRAPOLATE is not None:

    rule fig2_extrapolation_metrics:
        input:
            predictions=prediction_files(
                FIG_EXTRAPOLATE, FIG_VARIANT, test_scans(FIG_EXTRAPOLATE)
            ),
        output:
            png=report(
                "results/figures/fig2_extrapolation_metrics.png",
                caption="../report/fig2_extrapolation_metrics.rst",
                category="Figures",
            ),
            pdf="results/figures/fig2_extrapolation_metrics.pdf",
        log:
            "logs/figures/fig2_extrapolation_metrics.log",
        localrule: True
        conda:
            "../../envs/plots.yaml"
        params:
            prediction=FIGURES["prediction"],
            title=figure_title("Accuracy", FIG_EXTRAPOLATE),
        script:
            "../scripts/plot_strategy_metrics.py"

    rule fig3_maps_extrapolation:
        input:
            predictions=prediction_files(
                FIG_EXTRAPOLATE,
                FIG_VARIANT,
                figure_scans(FIGURES["extrapolation_map_scans"]),
            ),
        output:
            png=report(
                "results/figures/fig3_maps_extrapolation.png",
                caption="../report/fig3_maps_extrapolation.rst",
                category="Figures",
            ),
            pdf="results/figures/fig3_maps_extrapolation.pdf",
        log:
            "logs/figures/fig3_maps_extrapolation.log",
        localrule: True
        conda:
            "../../envs/plots.yaml"
        params:
            scans=figure_scans(FIGURES["extrapolation_map_scans"]),
            prediction=FIGURES["prediction"],
            title=figure_title("Real vs predicted maps", FIG_EXTRAPOLATE),
        script:
            "../scripts/plot_composition_maps.py"

    rule fig4_crosscorr_extrapolation:
        input:
            predictions=prediction_files(
                FIG_EXTRAPOLATE, FIG_VARIANT, test_scans(FIG_EXTRAPOLATE)
            ),
        output:
            png=report(
                "results/figures/fig4_crosscorr_extrapolation.png",
                caption="../report/fig4_crosscorr_extrapolation.rst",
                category="Figures",
            ),
            pdf="results/figures/fig4_crosscorr_extrapolation.pdf",
        log:
            "logs/figures/fig4_crosscorr_extrapolation.log",
        localrule: True
        conda:
            "../../envs/plots.yaml"
        params:
            prediction=FIGURES["prediction"],
            title=figure_title(
                "Element cross-correlations (test pixels)", FIG_EXTRAPOLATE
            ),
        script:
            "../scripts/plot_cross_correlations.py"


if FIG_INTERPOLATE is not None:

    rule fig5_interpolation_metrics:
        input:
            predictions=prediction_files(
                FIG_INTERPOLATE, FIG_VARIANT, test_scans(FIG_INTERPOLATE)
            ),
        output:
            png=report(
                "results/figures/fig5_interpolation_metrics.png",
                caption="../report/fig5_interpolation_metrics.rst",
                category="Figures",
            ),
            pdf="results/figures/fig5_interpolation_metrics.pdf",
        log:
            "logs/figures/fig5_interpolation_metrics.log",
        localrule: True
        conda:
            "../../envs/plots.yaml"
        params:
            prediction=FIGURES["prediction"],
            title=figure_title("Accuracy", FIG_INTERPOLATE),
        script:
            "../scripts/plot_strategy_metrics.py"

    rule fig6_maps_interpolation:
        input:
            predictions=prediction_files(
                FIG_INTERPOLATE,
                FIG_VARIANT,
                figure_scans(FIGURES["interpolation_map_scans"]),
            ),
        output:
            png=report(
                "results/figures/fig6_maps_interpolation.png",
                caption="../report/fig6_maps_interpolation.rst",
                category="Figures",
            ),
            pdf="results/figures/fig6_maps_interpolation.pdf",
        log:
            "logs/figures/fig6_maps_interpolation.log",
        localrule: True
        conda:
            "../../envs/plots.yaml"
        params:
            scans=figure_scans(FIGURES["interpolation_map_scans"]),
            prediction=FIGURES["prediction"],
            title=figure_title("Real vs predicted maps", FIG_INTERPOLATE),
        script:
            "../scripts/plot_composition_maps.py"

    rule fig7_crosscorr_interpolation:
        input:
            predictions=prediction_files(
                FIG_INTERPOLATE, FIG_VARIANT, test_scans(FIG_INTERPOLATE)
            ),
        output:
            png=report(
                "results/figures/fig7_crosscorr_interpolation.png",
                caption="../report/fig7_crosscorr_interpolation.rst",
                category="Figures",
            ),
            pdf="results/figures/fig7_crosscorr_interpolation.pdf",
        log:
            "logs/figures/fig7_crosscorr_interpolation.log",
        localrule: True
        conda:
            "../../envs/plots.yaml"
        params:
            prediction=FIGURES["prediction"],
            title=figure_title(
                "Element cross-correlations (test pixels)", FIG_INTERPOLATE
            ),
        script:
            "../scripts/plot_cross_correlations.py"


rule fig8_calibrated_eds_haadf:
    input:
        prediction=prediction_files(
            FIG_CALIBRATION["strategy"],
            FIG_CALIBRATION["variant"],
            figure_scans([FIG_CALIBRATION["scan"]]),
        ),
        cache=cache_files(figure_scans([FIG_CALIBRATION["scan"]])),
    output:
        png=report(
            "results/figures/fig8_calibrated_eds_haadf.png",
            caption="../report/fig8_calibrated_eds_haadf.rst",
            category="Figures",
        ),
        pdf="results/figures/fig8_calibrated_eds_haadf.pdf",
    log:
        "logs/figures/fig8_calibrated_eds_haadf.log",
    localrule: True
    conda:
        "../../envs/plots.yaml"
    params:
        region=FIG_CALIBRATION["region"],
        scan=figure_scans([FIG_CALIBRATION["scan"]])[0],
        title=figure_title(
            "Raw, calibrated and real maps",
            FIG_CALIBRATION["strategy"],
            FIG_CALIBRATION["variant"],
            "raw and calibrated",
        ),
    script:
        "../scripts/plot_calibrated_eds_haadf.py"


rule fig9_eds_blur_comparison:
    input:
        eds=eds_files_of(figure_scans([FIGURES["blur_scan"]])[0]),
    output:
        png=report(
            "results/figures/fig9_eds_blur_comparison.png",
            caption="../report/fig9_eds_blur_comparison.rst",
            category="Figures",
        ),
        pdf="results/figures/fig9_eds_blur_comparison.pdf",
    log:
        "logs/figures/fig9_eds_blur_comparison.log",
    localrule: True
    conda:
        "../../envs/plots.yaml"
    params:
        elements=ELEMENTS,
        eds=eds_files_of(figure_scans([FIGURES["blur_scan"]])[0]),
        scan=figure_scans([FIGURES["blur_scan"]])[0],
        scan_shape=config["scan_shape"],
        eds_unit=config["data"]["eds_unit"],
        cache=config["cache"],
    script:
        "../scripts/plot_blur_comparison.py"


rule fig10_workflow:
    output:
        png=report(
            "results/figures/fig10_workflow.png",
            caption="../report/fig10_workflow.rst",
            category="Figures",
        ),
        pdf="results/figures/fig10_workflow.pdf",
    log:
        "logs/figures/fig10_workflow.log",
    localrule: True
    conda:
        "../../envs/plots.yaml"
    params:
        snakefile=workflow.main_snakefile,
        configfiles=list(workflow.configfiles),
    script:
        "../scripts/plot_rule_graph.py"
