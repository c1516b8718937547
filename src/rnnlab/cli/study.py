"""``rnnlab-study``: a fair comparison of variants in one command.

rnnlab-study model=rnn,gru,lstm model.param_budget=100000 task=classify --trials 20 --seeds 3 \
    --dir outputs/studies/cells

One override lists the variants (``key=a,b,c``); every other override applies to all of them.
Every variant gets the same tuning budget and the same evaluation, in three phases:

1. **tune**: an Optuna search of ``--trials`` trials (``hparams_search=<--search>``, default
   ``budget_optuna``: learning rate, depth, dropout) judged on the validation split
   (``monitor.metric``, ``test=false``, the config's seed), in ``<dir>/tune/<variant>/``;
2. **confirm**: the best trial's configuration re-run with ``--seeds`` fresh seeds (never the
   tuning seed) and tested, in ``<dir>/final/<variant>/seed<s>/``;
3. **compare**: ``rnnlab-compare <dir>/final --by <key> --out <dir>``: ``comparison.md``,
   ``comparison.csv`` and ``comparison.png`` in ``<dir>``.

Each phase is an ``rnnlab-train``/``rnnlab-compare`` subprocess, so it resumes like every sweep:
the same command again continues each search's sqlite study (finished trials are kept), skips the
completed re-runs (``resume=true``) and continues interrupted ones from their last checkpoint.
Stop it with Ctrl-C or SIGTERM (``kill <pid>``; forwarded to the running phase).
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from rnnlab.errors import ConfigError, RnnlabError, exit_with

STUDY_FILE = "study.json"
DEFAULT_SEARCH = "budget_optuna"
# Keys each phase sets itself: a study override may not set them.
STUDY_KEYS = {
    "hparams_search": "--search NAME",
    "hydra.sweeper.n_trials": "--trials N",
    "hydra.sweep.dir": "--dir DIR",
    "hydra.run.dir": "--dir DIR",
    "train": "nothing (every phase trains)",
    "test": "nothing (tuning never tests, the re-runs always do)",
    "resume": "nothing (the study always resumes)",
    "ckpt_path": "nothing (each run starts fresh or resumes its own checkpoint)",
    "compare": "nothing (the study compares the re-runs at the end)",
}
# Overrides of the best trial that the re-runs set anew.
RERUN_KEYS = ("seed", "test", "train", "resume")

EPILOG = """\
One override lists the variants (key=a,b,c); the others apply to every variant. Phases:
  1. tune     each variant: --trials Optuna trials (--search) on the validation split
              -> DIR/tune/<variant>/ (optuna.db, best_params.yaml, one folder per trial)
  2. confirm  each variant's best configuration, re-run with --seeds fresh seeds and tested
              -> DIR/final/<variant>/seed<s>/
  3. compare  rnnlab-compare DIR/final --by <key>  -> DIR/comparison.md, .csv, .png
Run the same command again to resume a stopped study: finished trials and runs are kept.
"""


def say(message: str) -> None:
    """One line of the study's own output (the phases print theirs in between)."""
    print(f"[study] {message}", flush=True)


@dataclass(frozen=True)
class Study:
    """What a study runs; everything but ``directory`` must match when it is resumed."""

    key: str  # the variant key as written (with a leading + if it adds the key)
    variants: tuple[str, ...]
    overrides: tuple[str, ...]  # the same for every variant
    trials: int
    seeds: tuple[int, ...]
    tuning_seed: int
    search: str
    metric: str | None
    mode: str | None
    directory: Path

    @property
    def name(self) -> str:
        """The variant key without a ``+`` (what ``rnnlab-compare --by`` groups by)."""
        return self.key.lstrip("+")

    def spec(self) -> dict[str, Any]:
        spec = asdict(self)
        spec.pop("directory")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()}

    def variant_override(self, variant: str) -> str:
        return f"{self.key}={variant}"

    def tune_dir(self, variant: str) -> Path:
        return self.directory / "tune" / _folder(variant)

    def final_dir(self, variant: str, seed: int) -> Path:
        return self.directory / "final" / _folder(variant) / f"seed{seed}"


def _folder(variant: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in variant) or "_"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnnlab-study",
        description="A fair comparison in one command: the same tuning budget for every "
        "variant, its best configuration re-run with fresh seeds, then rnnlab-compare.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="OVERRIDE",
        help="rnnlab-train overrides; exactly one lists the variants (e.g. model=rnn,gru,lstm)",
    )
    p.add_argument("--trials", type=int, default=20, help="Optuna trials per variant (20)")
    p.add_argument(
        "--seeds",
        default="3",
        help="fresh seeds for the re-runs: a count K (seeds 1..K, skipping the tuning seed) or "
        "a list 1,2,3 (default 3)",
    )
    p.add_argument(
        "--search",
        default=DEFAULT_SEARCH,
        help=f"the hparams_search config that tunes every variant ({DEFAULT_SEARCH})",
    )
    p.add_argument(
        "--dir",
        type=Path,
        help="the study's folder (default outputs/studies/<date>/<time>); give the same one to "
        "resume",
    )
    p.add_argument("--metric", help="the metric compared at the end (default: test/<monitor>)")
    p.add_argument("--mode", choices=("min", "max"), help="whether lower or higher is better")
    return p


def plan(args: argparse.Namespace) -> Study:
    """The study the command line describes, checked before anything runs."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    from rnnlab.cli.app import composition_error

    try:
        parsed = OverridesParser.create().parse_overrides(list(args.overrides))
    except OverrideParseException as error:
        raise composition_error(error, "train") from None
    sweeps = [o for o in parsed if o.is_sweep_override()]
    if not sweeps:
        raise ConfigError(
            "rnnlab-study needs one override that lists the variants to compare, e.g. "
            "model=rnn,gru,lstm (or optimizer=adam,sgd); the other overrides apply to every "
            "variant."
        )
    if len(sweeps) > 1:
        listed = " and ".join(str(o.input_line) for o in sweeps)
        raise ConfigError(
            f"rnnlab-study compares the values of one key, but {listed} both list several "
            "values. Keep one list (the variants); what is tuned comes from the search config "
            f"(--search, default {DEFAULT_SEARCH}: conf/hparams_search/)."
        )
    sweep = sweeps[0]
    variants = list(sweep.sweep_string_iterator()) if sweep.is_choice_sweep() else []
    if len(variants) < 2 or len(set(variants)) < len(variants):
        raise ConfigError(
            f"{sweep.input_line}: the variants are two or more different values listed as "
            "key=a,b,c (not range() or interval(), which is what a search config tunes)."
        )
    for override in parsed:
        if override.key_or_group in STUDY_KEYS:
            raise ConfigError(
                f"{override.input_line}: rnnlab-study sets {override.key_or_group} itself for "
                f"each phase; use {STUDY_KEYS[override.key_or_group]}."
            )
    if args.trials < 1:
        raise ConfigError(f"--trials {args.trials}: give a whole number >= 1.")
    fixed = tuple(str(o.input_line) for o in parsed if o is not sweep)
    key = sweep.get_key_element()
    directory = args.dir or Path("outputs/studies") / datetime.now().strftime("%Y-%m-%d/%H-%M-%S")
    configs = [compose_variant(fixed, f"{key}={v}", args.search) for v in variants]
    tuning_seed = int(configs[0]["seed"])
    return Study(
        key=key,
        variants=tuple(variants),
        overrides=fixed,
        trials=args.trials,
        seeds=fresh_seeds(args.seeds, tuning_seed),
        tuning_seed=tuning_seed,
        search=args.search,
        metric=args.metric,
        mode=args.mode,
        directory=directory.resolve(),
    )


def fresh_seeds(text: str, tuning_seed: int) -> tuple[int, ...]:
    """``--seeds``: ``K`` -> the first K seeds from 1 that are not the tuning seed; or a list."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if len(values) == 1:
        count = values[0]
        values = [s for s in range(1, count + 2) if s != tuning_seed][:count]
    if len(values) < 2 or len(set(values)) < len(values) or min(values) < 0:
        raise ConfigError(
            f"--seeds {text}: give a count of at least 2 (seeds 1..K) or a list of at least two "
            "different seeds >= 0 (e.g. --seeds 1,2,3): each variant's comparison needs two "
            "runs or more."
        )
    if tuning_seed in values:
        raise ConfigError(
            f"--seeds {text} includes seed {tuning_seed}, the seed the trials are tuned with; the "
            "re-runs must use fresh seeds. Leave it out, or tune with another seed=<s>."
        )
    return tuple(values)


def compose_variant(overrides: Sequence[str], variant: str, search: str) -> dict[str, Any]:
    """One variant's tuning config, composed and validated as ``rnnlab-train`` would."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from rnnlab.cli.app import COMPOSITION_ERRORS, composition_error
    from rnnlab.config import CONFIG_DIR, import_target, to_primitive
    from rnnlab.config.validate import validate_config
    from rnnlab.values import width_key_of

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(
                "train",
                overrides=[*overrides, variant, f"hparams_search={search}"],
                return_hydra_config=True,
            )
    except COMPOSITION_ERRORS as error:
        raise composition_error(error, "train") from None
    params = dict(cfg.hydra.sweeper.get("params") or {})
    OmegaConf.set_struct(cfg, False)
    del cfg["hydra"]  # the run's own keys: validated as rnnlab-train validates them
    cfg.paths.output_dir = "."  # ${hydra:runtime.output_dir} has no value outside a run
    config = to_primitive(cfg)
    try:
        validate_config(config)
    except RnnlabError as error:
        raise ConfigError(f"With {variant}: {error}") from None
    for key in params:
        searched = str(key)
        if searched.startswith("+") or (CONFIG_DIR / searched).is_dir():  # added key, or a group
            continue
        if not _has_key(config, searched.lstrip("~")):
            raise ConfigError(
                f"The search {search} tunes {searched}, which {variant} does not have, so its "
                "trials would fail. Use a search whose keys every variant has (--search "
                "lr_optuna tunes the learning rate only), or write one in conf/hparams_search/."
            )
    model = config.get("model") or {}
    if model.get("param_budget") is not None:
        width = f"model.{width_key_of(import_target(model.get('_target_'), 'model'))}"
        if width in params:
            raise ConfigError(
                f"The search {search} tunes {width}, but model.param_budget="
                f"{model['param_budget']} sets it: the trials would differ in nothing there. "
                f"Use a search that leaves the width alone (--search {DEFAULT_SEARCH}), or no "
                "model.param_budget."
            )
    return config


def _has_key(config: dict[str, Any], dotted: str) -> bool:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


class Phases:
    """Runs each phase as a subprocess that shares this console; SIGTERM is passed on to it (a
    terminal's Ctrl-C reaches it directly); once it has stopped, so does the study."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.stopped: int | None = None
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopped = signum
        if signum == signal.SIGTERM and self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def run(self, command: list[str]) -> int:
        """Run ``command``; its exit status. Raises :class:`Stopped` once the study is stopped."""
        if self.stopped:
            raise Stopped(self.stopped)
        self.child = subprocess.Popen(command)
        if self.stopped == signal.SIGTERM:  # arrived while the child was starting
            self.child.send_signal(signal.SIGTERM)
        returncode = self.child.wait()
        self.child = None
        if self.stopped:
            raise Stopped(self.stopped)
        return returncode


class Stopped(Exception):
    """The study received SIGINT or SIGTERM; the running phase has ended."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def train_command(*overrides: str) -> list[str]:
    return [sys.executable, "-m", "rnnlab.cli.train", *overrides]


def tune(study: Study, phases: Phases, variant: str) -> dict[str, Any]:
    """Phase 1 for one variant: its Optuna search; the search's best_params.yaml."""
    import yaml

    folder = study.tune_dir(variant)
    phases.run(
        train_command(
            "-m",
            *study.overrides,
            study.variant_override(variant),
            f"hparams_search={study.search}",
            f"hydra.sweeper.n_trials={study.trials}",
            "test=false",  # tuning sees the validation split only
            "compare=false",  # the trials are not the comparison
            f"hydra.sweep.dir={folder}",
        )
    )
    best = folder / "best_params.yaml"
    if not best.is_file():
        raise RnnlabError(
            f"The search of {study.variant_override(variant)} in {folder} has no best trial "
            f"(no {best.name}); its output above says why. Fix the cause and run the same "
            "command again: finished trials are kept."
        )
    return yaml.safe_load(best.read_text())


def rerun_overrides(best: dict[str, Any]) -> list[str]:
    """The best trial's overrides, less those a re-run sets anew (seed, test, ...)."""
    return [o for o in best["overrides"] if o.lstrip("+~").partition("=")[0] not in RERUN_KEYS]


def confirm(study: Study, phases: Phases, variant: str, best: dict[str, Any]) -> list[int]:
    """Phase 2 for one variant: the best configuration with each fresh seed; the seeds whose
    run failed."""
    failed = []
    for seed in study.seeds:
        folder = study.final_dir(variant, seed)
        say(f"  {study.variant_override(variant)} seed={seed}: {folder}")
        overrides = [*rerun_overrides(best), f"seed={seed}", "test=true", "resume=true"]
        if phases.run(train_command(*overrides, f"hydra.run.dir={folder}")) != 0:
            failed.append(seed)
    return failed


def compare(study: Study, phases: Phases) -> None:
    """Phase 3: rnnlab-compare on the re-runs, grouped by the variant key."""
    command = [sys.executable, "-m", "rnnlab.cli.compare", str(study.directory / "final")]
    command += ["--by", study.name, "--out", str(study.directory)]
    command += ["--metric", study.metric] if study.metric else []
    command += ["--mode", study.mode] if study.mode else []
    if phases.run(command) != 0:
        raise RnnlabError(
            f"rnnlab-compare could not compare the re-runs in {study.directory / 'final'} (its "
            "message is above). Fix the cause and run the same command again: finished runs "
            "are kept."
        )


def open_study(study: Study, command: str) -> bool:
    """Write ``<dir>/study.json``, or check that the one there describes this study; whether
    the study resumes."""
    path = study.directory / STUDY_FILE
    spec = study.spec()
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("spec") != spec:
            differs = ", ".join(
                f"{k}: {saved.get('spec', {}).get(k)!r} there, {v!r} now"
                for k, v in spec.items()
                if saved.get("spec", {}).get(k) != v
            )
            raise ConfigError(
                f"{study.directory} holds another study ({differs}). Give a new --dir for this "
                f"one, or resume that study with its own command: {saved.get('command')}"
            )
        return True
    study.directory.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"spec": spec, "command": command}, indent=2) + "\n")
    return False


def record_tuning(study: Study, best: dict[str, dict[str, Any]]) -> None:
    """Add each variant's best trial to ``<dir>/study.json`` (``tuned``)."""
    path = study.directory / STUDY_FILE
    saved = json.loads(path.read_text())
    saved["tuned"] = {
        variant: {
            key: found.get(key) for key in ("metric", "best_value", "best_trial", "best_params")
        }
        for variant, found in best.items()
    }
    path.write_text(json.dumps(saved, indent=2) + "\n")


def run_study(study: Study, command: str) -> int:
    """The three phases; the exit status (2 when a re-run failed)."""
    resumed = open_study(study, command)
    phases = Phases()
    names = ", ".join(study.variants)
    say(f"{'resuming' if resumed else 'new'} study of {study.name} ({names}) in {study.directory}")
    say(
        f"each variant: {_count(study.trials, 'trial')} of {study.search} at seed="
        f"{study.tuning_seed}, "
        f"then its best configuration with seeds {', '.join(map(str, study.seeds))}"
    )
    say(f"stopped? the same command resumes it: {command}")
    try:
        best: dict[str, dict[str, Any]] = {}
        for n, variant in enumerate(study.variants, 1):
            say(
                f"phase 1/3 tune {study.variant_override(variant)} ({n} of "
                f"{len(study.variants)}): {_count(study.trials, 'Optuna trial')} on the validation "
                "split"
            )
            best[variant] = tune(study, phases, variant)
        record_tuning(study, best)
        say("phase 1/3 done: the best trial of each variant")
        for variant in study.variants:
            found = best[variant]
            params = " ".join(f"{k}={_short(v)}" for k, v in found["best_params"].items())
            say(
                f"  {study.variant_override(variant)}: {found['metric']}="
                f"{found['best_value']:.6g} (trial {found['best_trial']}) {params}"
            )
        failed: dict[str, list[int]] = {}
        for variant in study.variants:
            say(
                f"phase 2/3 re-run the best {study.variant_override(variant)} with "
                f"{len(study.seeds)} fresh seeds"
            )
            failed[variant] = confirm(study, phases, variant, best[variant])
        say(f"phase 3/3 compare the re-runs by {study.name}")
        compare(study, phases)
    except Stopped as stopped:
        say(f"stopped by {stopped}; finished trials and runs are kept. Resume with:")
        print(f"  {command}", flush=True)
        return 128 + stopped.signum
    markdown = study.directory / "comparison.md"
    say(f"done: the comparison (table, differences, verdict) is in {markdown}")
    runs_failed = [f"{study.key}={v} seed={s}" for v, seeds in failed.items() for s in seeds]
    if runs_failed:
        say(f"some re-runs failed ({', '.join(runs_failed)}); each run.json says why")
        return 2
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def resume_command(argv: Sequence[str], directory: Path) -> str:
    """The command that resumes this study: the same arguments, with its ``--dir``."""
    args = list(argv)
    if not any(a == "--dir" or a.startswith("--dir=") for a in args):
        args += ["--dir", str(directory)]
    return shlex.join(["rnnlab-study", *args])


def main(argv: Sequence[str] | None = None) -> None:
    """Console script ``rnnlab-study``."""
    from rnnlab.cli.console import quiet_third_party_noise

    quiet_third_party_noise()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_intermixed_args(argv)
    try:
        study = plan(args)
        code = run_study(study, resume_command(argv, study.directory))
    except RnnlabError as error:
        exit_with(error)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
