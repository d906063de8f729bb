"""The tiny config through the SLURM profile on a real one-node cluster (tests/slurm/start.sh).

Needs root and Debian's slurmctld, slurmd, slurm-client and munge (.ci/run installs them);
skipped elsewhere. Conda is absent here, so the profile's deployment method is overridden.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, TINY_CONFIG

pytestmark = pytest.mark.skipif(
    shutil.which("slurmctld") is None or os.geteuid() != 0,
    reason="needs root and SLURM (apt-get install slurmctld slurmd slurm-client munge)",
)
SLURM = REPO / "tests" / "slurm"
# The test node has 2 CPUs and a fake GPU: shrink the profile's requests to fit it.
FIT_TEST_NODE = [
    "--set-resources", "train_model:gpu=1", "train_model:cpus_per_gpu=1", "train_model:mem_mb=2000",
    "convert_scan:mem_mb=2000", "export_recommended_maps:mem_mb=500",
]  # fmt: skip


@pytest.fixture(scope="module")
def slurm_cluster():
    subprocess.run(["bash", str(SLURM / "start.sh")], check=True)
    yield
    subprocess.run(["bash", str(SLURM / "stop.sh")], check=True)


# Fig. 8 (interpolate) and the exported maps of the predict-only scan (deploy): every kind of job
# the profile sends (GPU training and prediction, baselines, preprocessing) in 33 jobs of the 108.
TARGETS = ["fig8_calibrated_eds_haadf", "results/predicted_maps/0037"]


def slurm_jobs():
    """{job id: {field: value}} of every job slurmctld still remembers (MinJobAge is an hour)."""
    out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True).stdout
    jobs = {}
    for line in out.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if "JobId" in fields:
            jobs[fields["JobId"]] = fields
    return jobs


def test_tiny_workflow_runs_through_sbatch(slurm_cluster, tmp_path):
    work = tmp_path / "slurm_run"
    shutil.copytree(REPO / "config", work / "config")
    # Two cheap baselines with two bootstrap members: the profile is under test, not the models.
    (work / "cheap_baselines.yaml").write_text("baselines:\n  models: [constant, pca_ridge]\n  bootstrap_members: 2\n")
    before = set(slurm_jobs())
    env = {**os.environ, "EDSMAPS_SLURM_PARTITION": "debug", "EDSMAPS_SLURM_ACCOUNT": ""}
    cmd = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
        "--configfile", str(TINY_CONFIG), str(work / "cheap_baselines.yaml"),
        "--workflow-profile", str(REPO / "profiles" / "slurm"),
        "--sdm", "env-modules", "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2", "--jobs", "4", *FIT_TEST_NODE,
        "--", *TARGETS,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert (work / "results" / "figures" / "fig8_calibrated_eds_haadf.png").exists()
    exported = {p.name for p in (work / "results" / "predicted_maps" / "0037").iterdir()}
    assert {f"{el}{kind}.mrc" for el in ("O", "Si", "Ge", "Sb", "Te") for kind in ("", "_std")} <= exported

    jobs = {k: v for k, v in slurm_jobs().items() if k not in before}
    assert jobs and all(job["JobState"] == "COMPLETED" for job in jobs.values())
    rules = {}
    for job in jobs.values():
        rules.setdefault(job["Comment"].removeprefix("rule_").split("_wildcards")[0], []).append(job)
    assert {"generate_demo_scan", "convert_scan", "cache_scan", "split_strategy", "train_model",
            "calibrate_and_predict_interpolate", "fit_baseline_deploy", "export_recommended_maps"} <= set(rules)  # fmt: skip
    assert len(rules["train_model"]) == 2  # interpolate (Fig. 8) and deploy (the exported maps), paper
    assert all(job.get("TresPerJob") == "gres:gpu:1" for job in rules["train_model"])
    assert all(job.get("TresPerJob") == "gres:gpu:1" for job in rules["calibrate_and_predict_interpolate"])
    assert not any(name.startswith(("fig", "metric_tables")) for name in rules)  # local rules stay local
    # SLURM's own completion log saw every one of them.
    completed = (open("/tmp/edsmaps-slurm/jobcomp.txt").read() if os.path.exists("/tmp/edsmaps-slurm/jobcomp.txt")
                 else "")  # fmt: skip
    for job_id in jobs:
        assert f"JobId={job_id} " in completed
