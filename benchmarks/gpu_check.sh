#!/usr/bin/env bash
# alqa's GPU checks in one go, for a CUDA machine with no internet: the CUDA tests, the round
# costs against the bare forward, and a full-SQuAD run's seconds per phase.
#
#   bash benchmarks/gpu_check.sh OUT_DIR [STAGE ...]     (stages: tests costs round showcase;
#                                                         default: tests costs round)
#
# It reads a kit made by `python benchmarks/gpu_kit.py pack ... --train ... --eval ...` (folder
# $KIT, default .gpu_kit): wheels of the missing packages, the MiniLM, the data. Without a kit
# it uses the Python environment as it is (alqa installed) and needs TRAIN and EVAL set.
# Each stage has its own time limit in seconds (TESTS_LIMIT 120, COSTS_LIMIT 150, ROUND_LIMIT
# 150 per run, SHOWCASE_LIMIT 540), so a slow one cannot eat the others' and the default stages
# end within 10 minutes. OUT_DIR gets summary.txt, one log per stage (a run's log ends with its phase
# table) and runs.tar.gz (every run directory, the showcase comparison too): at most 8 files.
# RUN_ARGS adds Hydra overrides to the runs. To check the script itself on a CPU, small:
#   DEVICE=cpu MODEL=tiny POOL=300 EVAL_SIZE=50 RUN_ARGS="budget.initial=10" bash ...
set -uo pipefail
OUT=${1:?usage: gpu_check.sh OUT_DIR [tests] [costs] [round] [showcase]}
shift
STAGES=${*:-tests costs round}
KIT=${KIT:-.gpu_kit}
WORK=${WORK:-/tmp/alqa_gpu}
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=disabled
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
MODEL=${MODEL:-minilm}
POOL=${POOL:-}   # empty: round_costs on 20,000 questions, the runs on the whole train file
EVAL_SIZE=${EVAL_SIZE:-2000}
read -r -a RUN_ARGS <<< "${RUN_ARGS:-}"
FAILED=0        # 1 once a stage fails: the exit status
if [ -d "$KIT" ]; then
    "$PYTHON" benchmarks/gpu_kit.py unpack --kit "$KIT" --site "$WORK/site" \
        || { echo "gpu_check: could not unpack $KIT"; exit 2; }
    export PYTHONPATH="$WORK/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
    TRAIN=${TRAIN:-$(ls "$KIT"/data/train.* 2>/dev/null | head -1)}
    EVAL=${EVAL:-$(ls "$KIT"/data/eval.* 2>/dev/null | head -1)}
fi
export PYTHONPATH="${PYTHONPATH:-$PWD}"
case " $STAGES " in *" costs "* | *" round "* | *" showcase "*)
    [ -f "${TRAIN:-}" ] && [ -f "${EVAL:-}" ] \
        || { echo "gpu_check: set TRAIN and EVAL to SQuAD-layout files, or pack them in the kit"; exit 2; } ;;
esac
: > "$OUT/summary.txt"
command -v nvidia-smi > /dev/null \
    && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/summary.txt"
"$PYTHON" -c "import torch, transformers; print('torch', torch.__version__, 'transformers',
transformers.__version__, 'cuda', torch.version.cuda)" | tee -a "$OUT/summary.txt"

stage() {  # stage NAME LIMIT COMMAND...: run with a time limit, log to OUT/NAME.log
    local name=$1 limit=$2
    shift 2
    local started=$SECONDS
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    local status=$?
    [ "$status" -eq 0 ] || FAILED=1
    echo "stage $name: exit $status after $((SECONDS - started)) s (limit $limit s)" | tee -a "$OUT/summary.txt"
}

full_squad_run() {  # full_squad_run NAME STRATEGY: one AL round over the whole train file
    local name=$1 strategy=$2
    rm -rf "${WORK:?}/$name"  # a run left by an earlier call would resume, finished, in no time
    stage "$name" "${ROUND_LIMIT:-150}" "$PYTHON" main.py "model=$MODEL" \
        dataset=squad "dataset.train_file=$TRAIN" "dataset.eval_file=$EVAL" \
        "dataset.pool_size=${POOL:-null}" "dataset.eval_size=$EVAL_SIZE" "train.device=$DEVICE" \
        budget.initial=200 budget.per_round=200 budget.quota=200 "strategy=$strategy" logger=none \
        "features_cache=$WORK/features" "hydra.run.dir=$WORK/$name" "${RUN_ARGS[@]}"
    [ -f "$WORK/$name/results.json" ] \
        && "$PYTHON" benchmarks/phase_table.py "$WORK/$name/results.json" >> "$OUT/$name.log"
}

for name in $STAGES; do
    case $name in
    tests)
        stage tests "${TESTS_LIMIT:-120}" "$PYTHON" -m pytest -m gpu tests/test_gpu.py -q -rs \
            -p no:cacheprovider ;;
    costs)
        peak=(--peak-tflops measure)
        [ "$DEVICE" = cpu ] && peak=()
        stage costs "${COSTS_LIMIT:-150}" "$PYTHON" benchmarks/round_costs.py --device "$DEVICE" \
            --model "$MODEL" --pool "${POOL:-20000}" --train-file "$TRAIN" \
            "${peak[@]}" ;;
    round)
        # the first run tokenises the pool and writes the feature cache; the second reads it
        full_squad_run round_entropy entropy
        full_squad_run round_badge badge ;;
    showcase)
        rm -rf "${WORK:?}/showcase" "$WORK/showcase_compare"
        stage showcase "${SHOWCASE_LIMIT:-540}" "$PYTHON" main.py -m sweep=showcase \
            launcher=joblib hydra.launcher.n_jobs="${SHOWCASE_JOBS:-4}" \
            "dataset.train_file=$TRAIN" "dataset.eval_file=$EVAL" logger=none \
            "features_cache=$WORK/features" "hydra.sweep.dir=$WORK/showcase" "${RUN_ARGS[@]}"
        stage compare 120 "$PYTHON" -m alqa.compare "$WORK/showcase" --per-seed \
            --out "$WORK/showcase_compare" ;;
    *) echo "gpu_check: unknown stage $name (tests costs round showcase)"; exit 2 ;;
    esac
done
tar -czf "$OUT/runs.tar.gz" -C "$WORK" --exclude=site --exclude=features . 2>/dev/null
for log in "$OUT"/*.log; do
    echo "== $(basename "$log")"
    tail -n 40 "$log"
done
cat "$OUT/summary.txt"
exit "$FAILED"
