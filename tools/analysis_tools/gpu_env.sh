# Set up mmgeneralist's Python stack on the offline GPU machine (Python 3.12,
# its own torch/torchvision/numpy/opencv), from the wheels carried in .whl/.
#
# Usage, from the repository root:   source tools/analysis_tools/gpu_env.sh
#
#   (a) installs .whl/*.whl (pure-python / abi3 / cp312 wheels: transformers 4.51.3,
#       huggingface_hub 0.36.x, tokenizers 0.21.x, diffusers 0.39.0, mmengine, mmseg,
#       mmdet, mmpretrain and their missing dependencies) into /tmp/site and exports
#       PYTHONPATH=/tmp/site:<repo root>, so they shadow the machine's transformers 5.x
#       and huggingface_hub 1.x;
#   (b) installs mmcv 2.1.0's Python package from .whl/mmcv-2.1.0.tar.gz without its
#       compiled ops (GPU_ENV_MMCV_OPS=absent, the default: no benchmarked model calls
#       one, and calling one raises an error that says so); with GPU_ENV_MMCV_OPS=build it
#       builds them (CPU ops; an estimated 4-6 minutes on 16 cores), unless /tmp/site/mmcv/_ext*.so
#       already exists;
#   (c) prints versions and imports mmcv.ops, mmseg.models, mmdet.models,
#       mmpretrain.models and mmgeneralist.
#
# The wheels, made on a machine with pip access (Python 3.12 manylinux x86_64 builds; the
# machine's own torch, numpy, opencv, scipy and friends are used as they are):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux2014_x86_64 --platform manylinux_2_24_x86_64 -d .whl \
#     accelerate==1.10.1 addict==2.4.0 diffusers==0.39.0 ftfy==6.3.1 \
#     huggingface_hub==0.36.2 importlib_metadata==10.2.0 lazy_importer==0.1.0 mat4py==0.6.0 \
#     mmdet==3.3.0 mmengine==0.10.7 mmpretrain==1.2.0 mmsegmentation==1.2.2 \
#     model_index==0.1.11 modelindex==0.0.2 ordered_set==4.1.0 panopticapi_lite==0.2.0 \
#     platformdirs==4.14.8 prettytable==3.18.0 pycocotools==2.0.11 shapely==2.2.0 \
#     termcolor==3.3.0 terminaltables==3.1.10 tokenizers==0.21.4 transformers==4.51.3 \
#     wcwidth==0.9.4 yapf==0.43.0
#   python3 -m pip download --no-deps --no-binary :all: --no-build-isolation mmcv==2.1.0 -d .whl
#   python3 -m pip download --no-deps setuptools==80.10.2 -d .whl/build
# (31 MiB in all.) The device tool carries .whl with `carry: [".whl"]`.
#
# Sourced, it returns non-zero on failure instead of exiting the caller's shell.
# Overrides: GPU_ENV_PYTHON (default python3), GPU_ENV_SITE (default /tmp/site),
# GPU_ENV_JOBS (default 16).

_gpu_env_main() {
    local py="${GPU_ENV_PYTHON:-python3}"
    local site="${GPU_ENV_SITE:-/tmp/site}"
    local jobs="${GPU_ENV_JOBS:-16}"
    local root whl t0 t1 t_all
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)" || {
        echo "gpu_env: cannot locate the repository root" >&2; return 1; }
    whl="$root/.whl"
    t_all=$(date +%s)

    if ! ls "$whl"/*.whl >/dev/null 2>&1; then
        echo "gpu_env: FAILED: no wheels in $whl (carry .whl with the call)" >&2
        return 1
    fi
    if ! command -v "$py" >/dev/null 2>&1; then
        echo "gpu_env: FAILED: $py not found" >&2
        return 1
    fi
    echo "gpu_env: python: $(command -v "$py") ($("$py" -c 'import sys; print(sys.version.split()[0])'))"

    # ---------------------------------------------------------------- (a) wheels
    t0=$(date +%s)
    local stamp="$site/.gpu_env_wheels" listing
    listing="$(cd "$whl" && ls -l -- *.whl)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$listing" ]; then
        echo "gpu_env: (a) wheels already installed in $site, skipping"
    else
        mkdir -p "$site" || { echo "gpu_env: FAILED: cannot create $site" >&2; return 1; }
        if ! "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
                --upgrade --target "$site" "$whl"/*.whl; then
            echo "gpu_env: FAILED: (a) pip install of $whl/*.whl into $site" >&2
            return 1
        fi
        # mmsegmentation's and model-index's wheels ship a top-level 'tests' package,
        # which would shadow the repository's own tests/ on PYTHONPATH.
        rm -rf "$site/tests"
        printf '%s\n' "$listing" > "$stamp"
    fi
    export PYTHONPATH="$site:$root"
    t1=$(date +%s)
    echo "gpu_env: (a) wheels: $((t1 - t0)) s; PYTHONPATH=$PYTHONPATH"

    # ------------------------------------------------------------ (b) mmcv build
    t0=$(date +%s)
    if [ "${GPU_ENV_MMCV_OPS:-absent}" = absent ]; then
        # mmcv's Python package without its compiled ops: building them would take an estimated 4-6 minutes
        # of a 16-core machine, and none of the benchmarked models calls one. Importing
        # mmcv.ops still works (mmseg and mmdet import it); calling an op raises an error
        # that says to rebuild with GPU_ENV_MMCV_OPS=build.
        if [ ! -f "$site/mmcv/_ext.py" ]; then
            rm -rf /tmp/gpu_env_build && mkdir -p /tmp/gpu_env_build
            tar xzf "$whl"/mmcv-2.1.0.tar.gz -C /tmp/gpu_env_build || {
                echo "gpu_env: FAILED: (b) cannot unpack mmcv-2.1.0.tar.gz" >&2; return 1; }
            rm -rf "$site/mmcv" && cp -r /tmp/gpu_env_build/mmcv-2.1.0/mmcv "$site/mmcv"
            cat > "$site/mmcv/_ext.py" <<'EOF'
"""Stand-in for mmcv's compiled ops (tools/analysis_tools/gpu_env.sh, GPU_ENV_MMCV_OPS=absent)."""


def __getattr__(name):
    def missing(*args, **kwargs):
        raise NotImplementedError(
            f'mmcv op {name!r}: mmcv was installed without its compiled ops; rebuild it '
            'with GPU_ENV_MMCV_OPS=build source tools/analysis_tools/gpu_env.sh')
    return missing
EOF
        fi
        echo "gpu_env: (b) mmcv without compiled ops (GPU_ENV_MMCV_OPS=absent)"
    elif ls "$site"/mmcv/_ext*.so >/dev/null 2>&1; then
        echo "gpu_env: (b) $(ls "$site"/mmcv/_ext*.so) exists, skipping the mmcv build"
    else
        local sdist src tools log pybin
        sdist="$(ls "$whl"/mmcv-2.1.0.tar.gz 2>/dev/null)"
        if [ -z "$sdist" ]; then
            echo "gpu_env: FAILED: (b) $whl/mmcv-2.1.0.tar.gz is missing" >&2
            return 1
        fi
        src=/tmp/gpu_env_build/mmcv-2.1.0
        tools=/tmp/gpu_env_buildtools
        log=/tmp/gpu_env_build/mmcv_build.log
        rm -rf /tmp/gpu_env_build && mkdir -p /tmp/gpu_env_build
        if ! tar xzf "$sdist" -C /tmp/gpu_env_build || [ ! -f "$src/setup.py" ]; then
            echo "gpu_env: FAILED: (b) cannot unpack $sdist" >&2
            return 1
        fi
        # torch's recent headers need C++20; mmcv 2.1.0 passes -std=c++17 last, which wins.
        sed -i "s/'-std=c++17'/'-std=c++20'/g" "$src/setup.py"
        if grep -q "'-std=c++17'" "$src/setup.py"; then
            echo "gpu_env: FAILED: (b) could not patch -std=c++17 in $src/setup.py" >&2
            return 1
        fi
        # mmcv's setup.py imports pkg_resources (gone in setuptools>=81): use the carried
        # setuptools<81, in a directory used for this build only.
        if ls "$whl"/build/setuptools-*.whl >/dev/null 2>&1; then
            rm -rf "$tools"
            if ! "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
                    --target "$tools" "$whl"/build/setuptools-*.whl; then
                echo "gpu_env: FAILED: (b) installing the carried setuptools into $tools" >&2
                return 1
            fi
        fi
        # ninja (pip package) lives next to python3; torch builds serially without it.
        pybin="$(dirname "$("$py" -c 'import sys; print(sys.executable)')")"
        echo "gpu_env: (b) building mmcv 2.1.0 (CPU ops, MAX_JOBS=$jobs); log: $log"
        (
            cd "$src" || exit 1
            unset FORCE_CUDA FORCE_MLU FORCE_MPS FORCE_NPU MMCV_WITH_DIOPI MMCV_CUDA_ARGS
            export PATH="$pybin:$PATH"
            export CUDA_VISIBLE_DEVICES=
            export MMCV_WITH_OPS=1 MAX_JOBS="$jobs"
            export PYTHONPATH="$tools"
            # setup.py takes the CPU path (CppExtension, "Compiling mmcv._ext only with
            # CPU") when torch.cuda.is_available() is False and FORCE_* are unset.
            "$py" - <<'EOF' || exit 1
import pkg_resources, setuptools, torch
from torch.utils.cpp_extension import is_ninja_available
assert not torch.cuda.is_available(), 'GPU still visible during the build'
print(f'gpu_env: (b) setuptools {setuptools.__version__}, torch {torch.__version__}, '
      f'cuda visible: {torch.cuda.is_available()}, ninja: {is_ninja_available()}')
EOF
            if "$py" -m pip install -v --no-index --no-deps --no-build-isolation --no-compile \
                    --no-cache-dir --upgrade --target "$site" . > "$log" 2>&1; then
                exit 0
            fi
            echo "gpu_env: (b) pip install failed; trying setup.py build_ext --inplace" >&2
            # (objects already compiled in ./build are reused by ninja)
            "$py" setup.py build_ext --inplace >> "$log" 2>&1 || exit 1
            ls mmcv/_ext*.so >/dev/null 2>&1 || exit 1
            rm -rf "$site/mmcv" && cp -r mmcv "$site/mmcv"
        )
        local rc=$?
        if [ $rc -ne 0 ] || ! ls "$site"/mmcv/_ext*.so >/dev/null 2>&1; then
            tail -n 40 "$log" >&2
            echo "gpu_env: FAILED: (b) mmcv build (rc=$rc); see $log" >&2
            return 1
        fi
        grep -m1 "Compiling mmcv._ext" "$log"
    fi
    t1=$(date +%s)
    echo "gpu_env: (b) mmcv: $((t1 - t0)) s"

    # ------------------------------------------------------------- (c) checks
    t0=$(date +%s)
    if ! "$py" - <<'EOF'
import importlib
for name in ('torch', 'torchvision', 'numpy', 'mmcv', 'mmengine', 'mmseg', 'mmdet',
             'mmpretrain', 'diffusers', 'transformers', 'huggingface_hub', 'tokenizers'):
    m = importlib.import_module(name)
    print(f'gpu_env:   {name:16s} {getattr(m, "__version__", "?"):14s} {m.__file__}')
EOF
    then
        echo "gpu_env: FAILED: (c) version check" >&2
        return 1
    fi
    if ! "$py" -c 'import mmcv.ops, mmseg.models, mmdet.models, mmpretrain.models, mmgeneralist; import mmcv._ext as e; print("gpu_env: (c) imports OK; mmcv._ext:", e.__file__)'; then
        echo "gpu_env: FAILED: (c) import mmcv.ops, mmseg.models, mmdet.models, mmpretrain.models, mmgeneralist" >&2
        return 1
    fi
    t1=$(date +%s)
    echo "gpu_env: (c) checks: $((t1 - t0)) s"
    echo "gpu_env: done in $(( $(date +%s) - t_all )) s"
    return 0
}

_gpu_env_main "$@"
_gpu_env_rc=$?
unset -f _gpu_env_main
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "gpu_env: note: run, not sourced; PYTHONPATH is not kept (use: source $0)" >&2
    exit $_gpu_env_rc
fi
return $_gpu_env_rc
