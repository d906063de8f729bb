# One rule per entry of FIGURE_TABLE (common.smk), each drawn by its edsmaps function.


for figure_name, drawn in FIGURE_TABLE.items():

    rule:
        name:
            figure_name
        input:
            **drawn["input"],
        output:
            png=report(
                f"results/figures/{figure_name}.png",
                caption=f"../report/{figure_name}.rst",
                category="Figures",
            ),
            pdf=f"results/figures/{figure_name}.pdf",
        log:
            f"logs/figures/{figure_name}.log",
        localrule: True
        conda:
            "../../envs/plots.yaml"
        params:
            function=drawn["function"],
            arguments=drawn["arguments"],
        script:
            "../scripts/plot_figure.py"
