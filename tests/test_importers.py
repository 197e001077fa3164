"""Model files of other frameworks (cnncalc.importers): Caffe .prototxt, Keras .keras / .json /
.h5, ONNX. Expected figures come from docs/REFERENCE.md, hand arithmetic written here, the
frameworks' own counts recorded by tests/models/make_fixtures.py (fixtures.json), and
PyTorch 2.13 measuring the same network (tests/torch_oracle.py)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from cnncalc import analyze, load_spec
from cnncalc.core.errors import CnnCalcError
from cnncalc.importers import SUFFIXES, load_model
from cnncalc.load import MODEL_SUFFIXES, parse_spec

from .conftest import ROOT, error_of, run_cli

MODELS = ROOT / "tests" / "models"
FIXTURES = json.loads((MODELS / "fixtures.json").read_text(encoding="utf-8"))


def report_of(path, input_size=None):
    text = load_model(str(path), input_size)
    return analyze(parse_spec(text, str(path))), text


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p



def test_suffix_tables_agree():
    assert set(MODEL_SUFFIXES) == set(SUFFIXES)


# ------------------------------------------------------------------------------------- Caffe


def test_caffe_alexnet_v1_syntax_equals_reference():
    rep, text = report_of(MODELS / "alexnet_v1.prototxt")
    # REFERENCE.md: original two-GPU AlexNet, 227×227×3
    assert rep.totals.params == 60_965_224
    assert rep.totals.macs == 724_406_816
    # the paper's feature-map sizes
    shapes = {r.name: r.output_shape for r in rep.layers}
    assert shapes["conv1"] == (55, 55, 96) and shapes["pool1"] == (27, 27, 96)
    assert shapes["conv2"] == (27, 27, 256) and shapes["pool2"] == (13, 13, 256)
    assert shapes["conv4"] == (13, 13, 384) and shapes["pool5"] == (6, 6, 256)
    assert rep.output_shape == (1000,)
    # grouped conv4: (3·3·384/2)·384 weights (REFERENCE: 663,552)
    assert rep.layer("conv4").weights == 663_552
    # in-place ReLUs are the convs' activations (no blob of their own); Softmax "prob" is a row
    acts = (227 * 227 * 3 + 55 * 55 * 96 * 2 + 27 * 27 * 96 + 27 * 27 * 256 * 2 + 13 * 13 * 256
            + 13 * 13 * 384 * 2 + 13 * 13 * 256 + 6 * 6 * 256 + 4096 * 2 + 1000 * 2)
    assert rep.totals.activations == acts
    assert "activation: relu" in text and "relu1" not in text
    assert text.splitlines()[0].startswith("# imported by cnncalc from")


def test_caffe_googlenet_inception_v2_syntax_equals_reference():
    rep, text = report_of(MODELS / "googlenet_3b_v2.prototxt")
    # REFERENCE.md's GoogLeNet table: weights and MACs of conv1, conv2 (1×1 + 3×3), 3a, 3b
    weights = 9_408 + 114_688 + 163_328 + 388_096
    macs = 118_013_952 + 359_661_568 + 128_049_152 + 304_267_264
    biases = 64 + (64 + 192) + (64 + 96 + 128 + 16 + 32 + 32) + (128 + 128 + 192 + 32 + 96 + 64)
    assert rep.totals.weights == weights and rep.totals.biases == biases
    assert rep.totals.macs == macs
    # Caffe's pools round up: 112 → 56 → 28 → 14
    assert rep.layer("pool1/3x3_s2").output_shape == (56, 56, 64)
    assert rep.layer("pool2/3x3_s2").output_shape == (28, 28, 192)
    assert rep.layer("inception_3a/output").output_shape == (28, 28, 256)
    assert rep.layer("inception_3b/output").output_shape == (28, 28, 480)
    assert rep.output_shape == (14, 14, 480)
    # from: only where the graph branches
    assert text.count("from:") == 2 * 4  # per module: three branches off the input + the concat


def test_caffe_vgg16_in_place_relu_equals_reference():
    rep, text = report_of(MODELS / "vgg16_v2.prototxt")
    assert rep.totals.params == 138_357_544
    assert rep.totals.macs == 15_470_264_320
    # REFERENCE: 15,237,608 with ReLU fused; Caffe's separate Softmax "prob" adds 1000
    assert rep.totals.activations == 15_237_608 + 1000
    assert rep.layer("pool5").output_shape == (7, 7, 512)
    assert "from:" not in text


def test_caffe_via_every_command(tmp_path):
    path = str(MODELS / "alexnet_v1.prototxt")
    r = run_cli(path, "--format", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["totals"]["params"] == 60_965_224
    r = run_cli("compare", path, "alexnet", "--format", "json")
    assert r.code == 0, r.err
    assert [s["params"] for s in json.loads(r.out)["specs"]] == [60_965_224, 60_965_224]
    r = run_cli("check", path)
    assert r.code == 0, r.out + r.err
    r = run_cli(path, "--explain")
    assert r.code == 0 and "conv4" in r.out
    out = tmp_path / "alexnet.yaml"
    r = run_cli("import", path, "-o", str(out))
    assert r.code == 0 and r.out == ""
    assert analyze(load_spec(str(out))).totals.macs == 724_406_816


CAFFE_HEAD = 'name: "t"\ninput: "data"\ninput_shape { dim: 1 dim: 8 dim: 10 dim: 10 }\n'


def test_caffe_batchnorm_scale_is_one_batchnorm(tmp_path):
    p = write(tmp_path, "bn.prototxt", CAFFE_HEAD + """
layer { name: "c" type: "Convolution" bottom: "data" top: "c"
        convolution_param { num_output: 4 kernel_h: 3 kernel_w: 1 pad_h: 1 pad_w: 0 bias_term: false } }
layer { name: "bn" type: "BatchNorm" bottom: "c" top: "c" }
layer { name: "sc" type: "Scale" bottom: "c" top: "c" scale_param { bias_term: true } }
layer { name: "r" type: "ReLU" bottom: "c" top: "c" }
""")
    rep, text = report_of(p)
    # conv: 3·1·8·4 weights, no bias; BN over 4 channels: γ, β learnable + mean, var running
    assert rep.layer("c").weights == 96 and rep.layer("c").biases == 0
    assert rep.layer("c").output_shape == (10, 10, 4)
    assert rep.layer("bn").params == 8 and rep.layer("bn").non_trainable_params == 8
    assert "kernel: [3, 1]" in text and "padding: [1, 0]" in text and "name: sc" not in text
    assert rep.layer("r").type == "relu"  # in place after a batchnorm: its own row


def test_caffe_misc_layers(tmp_path):
    p = write(tmp_path, "m.prototxt", CAFFE_HEAD + """
layer { name: "a" type: "Convolution" bottom: "data" top: "a"
        convolution_param { num_output: 8 kernel_size: 3 pad: 1 } }
layer { name: "s" type: "Eltwise" bottom: "a" bottom: "data" top: "s" }
layer { name: "p" type: "Pooling" bottom: "s" top: "p" pooling_param { pool: AVE global_pooling: true } }
layer { name: "d" type: "Deconvolution" bottom: "s" top: "d"
        convolution_param { num_output: 2 kernel_size: 4 stride: 2 pad: 1 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "d" bottom: "label" top: "loss" include { phase: TRAIN } }
layer { name: "f" type: "Flatten" bottom: "d" top: "f" }
layer { name: "ip" type: "InnerProduct" bottom: "f" top: "ip" inner_product_param { num_output: 3 bias_term: false } }
""")
    rep, text = report_of(p)
    assert rep.layer("s").type == "add"
    assert rep.layer("p").output_shape == (8,)
    # deconvolution: (10 − 1)·2 − 2 + 4 = 20
    assert rep.layer("d").output_shape == (20, 20, 2)
    assert rep.layer("ip").weights == 20 * 20 * 2 * 3 and rep.layer("ip").biases == 0
    assert "loss" not in text


def test_caffe_pool_rounding_and_input_layer(tmp_path):
    p = write(tmp_path, "p.prototxt", """layer { name: "data" type: "Input" top: "data"
  input_param { shape { dim: 1 dim: 3 dim: 7 dim: 7 } } }
layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "q" type: "Pooling" bottom: "data" top: "q" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
""")
    rep, text = report_of(p)
    # Caffe: ceil((7 − 2)/2) + 1 = 4 (the X/O toy's 7 → 4); (7 − 3)/2 + 1 = 3 divides
    assert rep.layer("p").output_shape == (4, 4, 3)
    assert rep.layer("q").output_shape == (3, 3, 3)
    assert text.count("ceil_mode: true") == 1


def test_caffe_data_layer_needs_input(tmp_path):
    p = write(tmp_path, "d.prototxt", """layer { name: "data" type: "Data" top: "data" top: "label" }
layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 3 } }
layer { name: "acc" type: "Accuracy" bottom: "c" bottom: "label" top: "acc" }
""")
    line = error_of(str(p))
    assert "d.prototxt:1:1: data: the Data layer gives no input size: give --input HxWxC" in line
    r = run_cli("import", str(p), "--input", "5x5x1")
    assert r.code == 0, r.err
    rep = analyze(parse_spec(r.out, "x.yaml"))
    assert rep.output_shape == (3, 3, 2) and rep.totals.params == 3 * 3 * 2 + 2
    assert "left out (training only): acc" in r.out


def test_caffe_unsupported_layers_named_in_one_line(tmp_path):
    p = write(tmp_path, "u.prototxt", CAFFE_HEAD + """
layer { name: "pw" type: "Power" bottom: "data" top: "pw" }
layer { name: "c" type: "Convolution" bottom: "pw" top: "c" convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "sp" type: "SPP" bottom: "c" top: "sp" }
layer { name: "mx" type: "Eltwise" bottom: "data" bottom: "data" top: "mx" eltwise_param { operation: MAX } }
""")
    line = error_of(str(p))
    assert "u.prototxt:5:1: 3 Caffe layers cnncalc cannot count" in line
    for word in ("Power ('pw')", "SPP ('sp')", "Eltwise (only SUM and PROD map: add, multiply) ('mx')",
                 "nothing was counted"):
        assert word in line, line


@pytest.mark.parametrize("text, where", [
    ('layer { name: "c" type: "Convolution"', ":1:38: the file ends inside a message: '}' missing for the one "
                                              "opened at "),
    ('input: "data"\ninput_dim: 1\nlayer { name: "c" ? }', ":3:19: not protobuf text format: unexpected character"),
    ("layer { name: 'c' } }", ":1:21: unexpected '}'"),
    ("just some words", ":1:6: expected ':' or '{' after 'just'"),
    ("", "not a Caffe network"),
])
def test_caffe_bad_files(tmp_path, text, where):
    p = write(tmp_path, "bad.prototxt", text)
    line = error_of(str(p))
    assert where in line, line


def test_prototext_reader_forms():
    from cnncalc.importers.prototext import parse

    m = parse('a: 1 # c\nb { x: "p" \'q\' y: [1, 2] }\nb: < x: -inf z: 1e-4 >\nc: TRUE', "f")
    assert m.first("a") == 1 and m.first("c") is True
    first, second = m.all("b")
    assert first.first("x") == "pq" and first.all("y") == [1, 2]
    assert second.first("x") == float("-inf") and second.first("z") == 1e-4


# ------------------------------------------------------------------------------------- Keras


def keras3_layer(cls, name, config, inbound=None):
    layer = {"module": "keras.layers", "class_name": cls, "config": {"name": name, **config}, "name": name,
             "inbound_nodes": []}
    if inbound is not None:
        layer["inbound_nodes"] = [{"args": [inbound], "kwargs": {}}]
    return layer


def ktensor(name):
    return {"class_name": "__keras_tensor__", "config": {"shape": [None], "keras_history": [name, 0, 0]}}


def keras3_functional():
    L = keras3_layer
    return {"module": "keras", "class_name": "Functional", "config": {"name": "k3", "layers": [
        L("InputLayer", "img", {"batch_shape": [None, 16, 16, 3]}),
        L("Conv2D", "c1", {"filters": 8, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                           "activation": "relu", "use_bias": True, "dilation_rate": [1, 1], "groups": 1},
          ktensor("img")),
        L("Conv2D", "c2", {"filters": 8, "kernel_size": [1, 1], "strides": [1, 1], "padding": "valid",
                           "activation": "linear", "use_bias": False}, ktensor("img")),
        L("BatchNormalization", "bn", {"axis": -1, "center": True, "scale": True}, ktensor("c2")),
        L("Add", "add", {}, [ktensor("c1"), ktensor("bn")]),
        L("GlobalAveragePooling2D", "gap", {"keepdims": False}, ktensor("add")),
        L("Dense", "out", {"units": 5, "activation": {"module": "keras.activations", "class_name": "function",
                                                      "config": "softmax"}, "use_bias": True}, ktensor("gap")),
    ], "input_layers": [["img", 0, 0]], "output_layers": [["out", 0, 0]]}}


def check_k3(rep):
    # hand arithmetic: c1 3·3·3·8 + 8; c2 3·8 (no bias); bn 2·8 + 2·8 running; dense 8·5 + 5
    assert rep.totals.params == (216 + 8) + 24 + 16 + (40 + 5)
    assert rep.totals.non_trainable_params == 16
    assert rep.totals.macs == 16 * 16 * 8 * 27 + 16 * 16 * 8 * 3 + 40
    assert rep.output_shape == (5,)


def test_keras3_functional_json_and_zip(tmp_path):
    doc = keras3_functional()
    rep, text = report_of(write(tmp_path, "m.json", json.dumps(doc)))
    check_k3(rep)
    assert "from: input" in text and "from: [c1, bn]" in text and "activation: softmax" in text
    z = tmp_path / "m.keras"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("config.json", json.dumps(doc))
        f.writestr("metadata.json", "{}")
    rep, text = report_of(z)
    check_k3(rep)
    assert "Keras 3 layout" in text.splitlines()[0]


def test_keras2_functional_and_sequential_layouts(tmp_path):
    def k2(cls, name, cfg, inbound):
        return {"class_name": cls, "config": {"name": name, **cfg}, "name": name,
                "inbound_nodes": [[[n, 0, 0, {}] for n in inbound]] if inbound else []}

    doc = {"class_name": "Model", "keras_version": "2.15.0", "config": {"name": "k2", "layers": [
        k2("InputLayer", "in", {"batch_input_shape": [None, 12, 12, 1]}, []),
        k2("ZeroPadding2D", "zp", {"padding": [[1, 1], [2, 2]]}, ["in"]),
        k2("Conv2D", "c", {"filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "valid",
                           "activation": "relu", "use_bias": True}, ["zp"]),
        k2("SeparableConv2D", "s", {"filters": 6, "kernel_size": [3, 3], "padding": "same", "depth_multiplier": 2,
                                    "use_bias": True, "activation": "linear"}, ["c"]),
        k2("DepthwiseConv2D", "d", {"kernel_size": [3, 3], "padding": "same", "depth_multiplier": 1,
                                    "use_bias": False}, ["c"]),
        k2("Concatenate", "cat", {"axis": -1}, ["s", "d"]),
        k2("Flatten", "f", {}, ["cat"]),
    ], "input_layers": [["in", 0, 0]], "output_layers": [["f", 0, 0]]}}
    rep, text = report_of(write(tmp_path, "k2.json", json.dumps(doc)))
    # 12×12 padded to 14×16 → conv 3×3/2: 6×7×4
    assert rep.layer("c").output_shape == (6, 7, 4)
    # separable: depthwise 3·3·4·2, pointwise 8·6 + 6 biases; depthwise 3·3·4 no bias
    assert rep.layer("s").params == 72 + 48 + 6 and rep.layer("d").params == 36
    assert rep.output_shape == (6 * 7 * 10,)
    assert "Keras 2 layout" in text.splitlines()[0]
    seq = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Conv2D", "config": {"name": "c", "batch_input_shape": [None, 8, 8, 2], "filters": 3,
                                            "kernel_size": [3, 3], "padding": "valid", "use_bias": True}},
        {"class_name": "MaxPooling2D", "config": {"name": "p", "pool_size": [2, 2], "strides": None,
                                                  "padding": "valid"}},
        {"class_name": "Flatten", "config": {"name": "f"}},
        {"class_name": "Dense", "config": {"name": "o", "units": 2, "use_bias": True, "activation": "sigmoid"}}]}}
    rep, _ = report_of(write(tmp_path, "seq.json", json.dumps(seq)))
    assert rep.totals.params == (3 * 3 * 2 * 3 + 3) + (3 * 3 * 3 * 2 + 2)
    assert rep.layer("p").output_shape == (3, 3, 3)


def test_keras_nested_model_by_hand(tmp_path):
    inner = {"class_name": "Sequential", "config": {"name": "block", "layers": [
        {"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": [3, 3], "padding": "same"}},
        {"class_name": "RandomFlip", "config": {"name": "r", "mode": "horizontal"}}]}}
    doc = {"class_name": "Sequential", "config": {"name": "outer", "layers": [
        {"class_name": "InputLayer", "config": {"name": "i", "batch_input_shape": [None, 8, 8, 2]}},
        inner, {"class_name": "Flatten", "config": {"name": "f"}}]}}
    line = error_of(str(write(tmp_path, "n.json", json.dumps(doc))))
    assert "RandomFlip ('block.r')" in line
    inner["config"]["layers"].pop()
    rep, text = report_of(write(tmp_path, "n.json", json.dumps(doc)))
    assert rep.layer("block.c").params == 3 * 3 * 2 * 4 + 4 and rep.output_shape == (8 * 8 * 4,)


def test_keras_unsupported_layers_in_one_message(tmp_path):
    L = keras3_layer
    doc = {"class_name": "Sequential", "config": {"name": "u", "layers": [
        L("InputLayer", "i", {"batch_shape": [None, 8, 8, 3]}),
        L("Rescaling", "rescale", {"scale": [0.5, 0.25, 0.125], "offset": 0.0}),
        L("Normalization", "norm", {"axis": 1}),
        L("Conv2D", "c", {"filters": 2, "kernel_size": [1, 1]}),
        L("LayerNormalization", "rms", {"axis": -1, "rms_scaling": True}),
    ]}}
    line = error_of(str(write(tmp_path, "u.json", json.dumps(doc))))
    for word in ("3 Keras layers cnncalc cannot count", "Rescaling (a scale or offset per channel) ('rescale')",
                 "Normalization (axis 1) ('norm')",
                 "LayerNormalization (rms_scaling) ('rms')", "nothing was counted"):
        assert word in line, line


def test_keras_dynamic_input_needs_input_size(tmp_path):
    doc = keras3_functional()
    doc["config"]["layers"][0]["config"]["batch_shape"] = [None, None, None, 3]
    p = write(tmp_path, "dyn.json", json.dumps(doc))
    line = error_of(str(p))
    assert "give --input HxWxC" in line and "img" in line
    r = run_cli("import", str(p), "--input", "16x16x3")
    assert r.code == 0, r.err
    check_k3(analyze(parse_spec(r.out, "x.yaml")))


@pytest.mark.parametrize("name, data, words", [
    ("a.keras", b"PK\x03\x04 truncated", "not a Keras .keras file"),
    ("b.keras", None, "holds no config.json"),
    ("c.json", b'{"class_name": "Sequential", "config": {"layers": [', "c.json:1:"),
    ("d.json", b'{"a": 1}', "d.json:1:2: unknown top-level key 'a'"),  # no class_name: read as a JSON spec
    ("f.json", b'[1, 2]', "not a Keras model config"),
    ("e.json", b'{"class_name": "Dense", "config": {}}', "not a Sequential or Functional model"),
])
def test_keras_bad_files(tmp_path, name, data, words):
    p = tmp_path / name
    if data is None:
        with zipfile.ZipFile(p, "w") as f:
            f.writestr("other.txt", "x")
    else:
        p.write_bytes(data)
    assert words in error_of(str(p))


def test_a_json_spec_is_still_a_spec(tmp_path):
    p = write(tmp_path, "net.json", '{"input": [8, 8, 1], "layers": [{"conv": {"filters": 2, "kernel": 3}}]}')
    r = run_cli(str(p), "--format", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["totals"]["params"] == 3 * 3 * 1 * 2 + 2
    assert "a cnncalc spec written in JSON" in error_of("import", str(p))


def test_keras_checked_in_files_equal_keras_figures():
    want = FIXTURES["small_functional.keras"]
    rep, _ = report_of(MODELS / "small_functional.keras")
    assert rep.totals.params == want["params"]
    assert rep.totals.non_trainable_params == want["non_trainable"]
    assert list(rep.output_shape) == want["output_shape"]
    pytest.importorskip("h5py")
    want = FIXTURES["small_sequential.h5"]
    rep, _ = report_of(MODELS / "small_sequential.h5")
    assert rep.totals.params == want["params"] and list(rep.output_shape) == want["output_shape"]


def test_keras_h5_without_h5py_is_one_line():
    try:
        import h5py  # noqa: F401
    except ImportError:
        line = error_of(str(MODELS / "small_sequential.h5"))
        assert "needs h5py" in line
    else:
        pytest.skip("h5py is installed")


@pytest.fixture(scope="module")
def keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def keras_counts(m):
    nt = sum(int(w.numpy().size) for w in m.non_trainable_weights)
    return m.count_params() - nt, nt, tuple(m.output_shape[1:])


def test_keras3_saved_models_equal_count_params(keras, tmp_path):
    layers = keras.layers
    inp = keras.Input((24, 24, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = layers.BatchNormalization(center=False, scale=False)(x)
    y = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    z = layers.Conv2D(16, 1, use_bias=False)(x)
    x = layers.Add()([y, z])
    x = layers.UpSampling2D(2)(x)
    x = layers.AveragePooling2D(3, strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(4, 3, strides=2, padding="same")(x)
    x = layers.GlobalMaxPooling2D(keepdims=True)(x)
    x = layers.Flatten()(x)
    out = layers.Dense(3)(x)
    m = keras.Model(inp, out)
    m.save(tmp_path / "m.keras")
    params, nt, shape = keras_counts(m)
    rep, _ = report_of(tmp_path / "m.keras")
    assert (rep.totals.params, rep.totals.non_trainable_params, rep.output_shape) == (params, nt, shape)
    h5py = pytest.importorskip("h5py")  # noqa: F841
    m.save(tmp_path / "m.h5")
    rep, _ = report_of(tmp_path / "m.h5")
    assert (rep.totals.params, rep.totals.non_trainable_params, rep.output_shape) == (params, nt, shape)


KERAS_APPS = [("MobileNet", "mobilenet_v1")] + [pytest.param(n, None, marks=pytest.mark.slow) for n in (
    "MobileNetV2", "ResNet50", "ResNet50V2", "VGG16", "DenseNet121", "Xception")]


@pytest.mark.parametrize("app, spec", KERAS_APPS)
def test_keras_applications_equal_count_params(keras, tmp_path, app, spec):
    m = getattr(keras.applications, app)(weights=None)
    m.save(tmp_path / "m.keras")
    params, nt, shape = keras_counts(m)
    rep, _ = report_of(tmp_path / "m.keras")
    assert (rep.totals.params, rep.totals.non_trainable_params, rep.output_shape) == (params, nt, shape)
    if spec:  # REFERENCE.md's MobileNet 1.0 figures: the same network as Keras builds it
        assert (params, nt) == (4_231_976, 21_888) and rep.totals.macs == 568_740_352


@pytest.mark.parametrize("app, spec", [("EfficientNetB0", "keras_efficientnet_b0"),
                                       ("ConvNeXtTiny", "keras_convnext_tiny")])
def test_the_keras_specs_equal_their_saved_applications(keras, tmp_path, app, spec):
    # issue 13: a saved .keras of each Keras spec gives Keras's figures — its preprocessing
    # (Rescaling; Normalization adapted: mean, variance, count stored; or given as constants: nothing),
    # ConvNeXt's LayerNormalization, LayerScale and Dense on the last axis — and the spec's MACs
    m = getattr(keras.applications, app)(weights=None)
    m.save(tmp_path / "m.keras")
    params, nt, shape = keras_counts(m)
    rep, _ = report_of(tmp_path / "m.keras")
    assert (rep.totals.params, rep.totals.non_trainable_params, rep.output_shape) == (params, nt, shape)
    ref = analyze(load_spec(spec))
    assert (ref.totals.params, ref.totals.non_trainable_params, ref.output_shape) == (params, nt, shape)
    assert rep.totals.macs == ref.totals.macs
    assert [r.params for r in rep.layers if r.params] == [r.params for r in ref.layers if r.params]


def test_keras_preprocessing_and_layer_norm_by_hand(keras, tmp_path):
    layers = keras.layers
    inp = keras.Input((6, 5, 4))
    x = layers.Rescaling(1 / 255, offset=-1)(inp)
    x = layers.Normalization(axis=-1)(x)  # to be adapted: 4 + 4 + 1 stored
    x = layers.Normalization(axis=-1, mean=[1, 2, 3, 4], variance=[1, 1, 1, 1])(x)  # constants: nothing
    x = layers.LayerNormalization(epsilon=1e-6)(x)  # γ, β: 4 + 4
    x = layers.LayerNormalization(center=False)(x)  # γ only: 4
    x = layers.Dense(3)(x)  # on the last axis: 4·3 + 3
    x = layers.BatchNormalization(scale=False)(x)  # β 3 (InceptionV3's), mean and variance 3 + 3
    x = layers.BatchNormalization(center=False)(x)  # γ 3, mean and variance 3 + 3
    m = keras.Model(inp, x)
    m.save(tmp_path / "m.keras")
    rep, text = report_of(tmp_path / "m.keras")
    assert (rep.totals.params, rep.totals.non_trainable_params) == (8 + 4 + 15 + 3 + 3, 9 + 6 + 6) \
        == keras_counts(m)[:2]
    assert rep.output_shape == (6, 5, 3) == keras_counts(m)[2]
    assert rep.layers[-3].macs == 6 * 5 * 4 * 3
    assert "scale: 0.00392156862745098" in text and "offset: -1" in text and "adapted: false" in text


def test_keras_nested_models_are_flattened(keras, tmp_path):
    """Transfer learning's shape: a base model inside a Sequential, and that inside a Functional."""
    layers = keras.layers
    base = keras.applications.MobileNet(input_shape=(64, 64, 3), include_top=False, weights=None, alpha=0.25)
    seq = keras.Sequential([keras.Input((64, 64, 3)), base, layers.GlobalAveragePooling2D(), layers.Dense(4)],
                           name="classifier")
    inp = keras.Input((64, 64, 3), name="image")
    out = layers.Dense(2, name="top")(seq(inp))
    outer = keras.Model(inp, out)
    for m, name in ((seq, "seq.keras"), (outer, "outer.keras")):
        m.save(tmp_path / name)
        params, nt, shape = keras_counts(m)
        rep, text = report_of(tmp_path / name)
        assert (rep.totals.params, rep.totals.non_trainable_params, rep.output_shape) == (params, nt, shape)
    assert f"name: classifier.{base.name}.conv1," in text


# -------------------------------------------------------------------------------------- ONNX


def test_onnx_checked_in_file_equals_torch_figures():
    pytest.importorskip("onnx")
    want = FIXTURES["small_cnn.onnx"]
    rep, text = report_of(MODELS / "small_cnn.onnx")
    assert rep.totals.params == want["params"]
    assert rep.totals.non_trainable_params == want["non_trainable"]
    assert rep.totals.macs == want["macs"]
    assert list(rep.output_shape) == want["output_shape"]
    assert list(rep.input_shape) == want["input"]
    # the Pad went into the conv, the shapes side graph folded away, torch's module names kept
    assert "conv: {name: conv1, filters: 16, kernel: 3, padding: 1}" in text
    assert "zeropad" not in text and "Shape" not in text and "gather" not in text.lower()


def test_onnx_bad_files(tmp_path):
    pytest.importorskip("onnx")
    data = (MODELS / "small_cnn.onnx").read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) // 3])
    assert "cut.onnx: not an ONNX model" in error_of(str(cut))
    text = write(tmp_path, "text.onnx", "name: hello\nlayers: []\n")
    assert "text.onnx: not an ONNX model" in error_of(str(text))
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    assert "not an ONNX model" in error_of(str(empty))


def onnx_model(nodes, inits, in_dims, opset=17):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_dims)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.zeros(s, dtype=np.float32), n) for n, s in inits.items()])
    return onnx.helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_onnx_unsupported_ops_named_and_dynamic_shapes(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3]),
             helper.make_node("Transpose", ["c"], ["t"], name="tr", perm=[0, 1, 3, 2]),
             helper.make_node("LpNormalization", ["t"], ["n"], name="ln"),
             helper.make_node("Relu", ["n"], ["r"], name="relu")]
    m = onnx_model(nodes, {"w": (4, 3, 3, 3)}, [1, 3, 8, 8])
    onnx.save(m, tmp_path / "u.onnx")
    line = error_of(str(tmp_path / "u.onnx"))
    for word in ("2 ONNX ops cnncalc cannot count",
                 "Transpose (other than N×C×H×W to N×H×W×C and back, N×C×L to tokens N×L×C, or a channel "
                 "shuffle's) ('tr')",
                 "LpNormalization ('ln')"):
        assert word in line, line
    m = onnx_model(nodes[:1], {"w": (4, 3, 3, 3)}, ["N", 3, "H", "W"])
    onnx.save(m, tmp_path / "dyn.onnx")
    assert "dynamic size (?×3×?×?): give --input HxWxC" in error_of(str(tmp_path / "dyn.onnx"))
    r = run_cli("import", str(tmp_path / "dyn.onnx"), "--input", "10x10x3")
    assert r.code == 0, r.err
    rep = analyze(parse_spec(r.out, "x.yaml"))
    assert rep.output_shape == (8, 8, 4) and rep.totals.params == 3 * 3 * 3 * 4
    r = run_cli(str(tmp_path / "dyn.onnx"), "--input", "10x10x3", "--format", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["output_shape"] == [8, 8, 4]


def test_onnx_matmul_add_and_constant_folding(tmp_path):
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import helper, numpy_helper

    shape_const = numpy_helper.from_array(np.array([0, -1], dtype=np.int64))
    nodes = [helper.make_node("Constant", [], ["s"], value=shape_const),
             helper.make_node("Reshape", ["x", "s"], ["f"], name="/flat/Reshape"),
             helper.make_node("MatMul", ["f", "w"], ["mm"], name="/fc/MatMul"),
             helper.make_node("Add", ["mm", "b"], ["y"], name="/fc/Add"),
             helper.make_node("Clip", ["y", "lo", "hi"], ["z"], name="/act/Clip")]
    m = onnx_model(nodes, {"w": (48, 7), "b": (7,), "lo": (), "hi": ()}, [1, 3, 4, 4])
    m.graph.initializer[3].CopyFrom(numpy_helper.from_array(np.array(6.0, dtype=np.float32), "hi"))
    onnx.save(m, tmp_path / "mm.onnx")
    rep, text = report_of(tmp_path / "mm.onnx")
    assert rep.totals.params == 48 * 7 + 7 and rep.totals.macs == 48 * 7
    assert "dense: {name: fc, units: 7}" in text and "relu6: {name: act}" in text


@pytest.fixture(scope="module")
def torch_onnx():
    pytest.importorskip("onnx")
    return pytest.importorskip("torch")


# the bigger ones take 10–15 s each on a shared CPU: in the slow suite
ROUND_TRIP = ["lenet5", "pytorch_cifar_net", "mnist_cnn", "xo_toy", "inception_naive", "inception_bottleneck"] + [
    pytest.param(n, marks=pytest.mark.slow) for n in ("alphago_policy", "alexnet", "googlenet", "mobilenet_v2",
                                                      "mobilenet_v1", "resnet18", "resnet50", "vgg16")]


def exportable_lrn(torch, p):
    """LocalResponseNorm exported as ONNX's one LRN op (PyTorch's exporter spreads it over about
    twenty nodes with a 5-D reshape and an If, which cnncalc does not recognise)."""

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return torch.nn.functional.local_response_norm(x, p["size"], p["alpha"], p["beta"], p["k"])

        @staticmethod
        def symbolic(g, x):
            return g.op("LRN", x, size_i=p["size"], alpha_f=p["alpha"], beta_f=p["beta"], bias_f=p["k"])

    class LRN(torch.nn.Module):
        def forward(self, x):
            return Fn.apply(x)

    return LRN()


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_onnx_export_of_shipped_spec_reads_back(torch_onnx, tmp_path, name):
    """Each shipped spec built in PyTorch (tests/torch_oracle.py), exported by torch.onnx.export,
    read back: the params, running statistics, MACs and output shape PyTorch measures."""
    import warnings

    torch = torch_onnx
    from .torch_oracle import builder_of, measure, to_hwc

    graph = load_spec(name)
    measured = measure(graph)
    want_params = sum(m.params for m in measured.values())
    want_buffers = sum(m.buffers for m in measured.values())
    want_macs = sum(m.flops for m in measured.values()) // 2
    want_shape = measured[graph.layers[-1].name].shape

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mods = torch.nn.ModuleDict()
            self.order = []
            s = graph.input_shape
            values = {"input": torch.zeros((1, s[2], s[0], s[1]) if len(s) == 3 else (1, s[0]))}
            with torch.no_grad():
                for spec in graph.layers[1:]:
                    key = f"m{len(self.order)}"
                    build = builder_of(spec.type) if spec.type != "lrn" else (lambda p, s: exportable_lrn(torch, p))
                    mod = build(dict(spec.params), to_hwc(values[spec.inputs[0]])).eval()
                    self.mods[key] = mod
                    self.order.append((key, spec.name, spec.inputs))
                    values[spec.name] = mod(*[values[n] for n in spec.inputs])
            self.example = values["input"]

        def forward(self, x):
            values = {"input": x}
            for key, out, ins in self.order:
                values[out] = self.mods[key](*[values[n] for n in ins])
            return values[self.order[-1][1]]

    net = Net().eval()
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (net.example,), str(path), dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}}, training=torch.onnx.TrainingMode.PRESERVE)
    rep, _ = report_of(path)
    assert rep.totals.params == want_params
    assert rep.totals.non_trainable_params == want_buffers
    assert rep.totals.macs == want_macs
    assert rep.output_shape == tuple(want_shape)
    # and the same figures cnncalc gives for the spec itself
    own = analyze(graph)
    assert (own.totals.params, own.totals.macs) == (want_params, want_macs)


def test_onnx_export_of_many_torch_ops(torch_onnx, tmp_path):
    """Activations, upsampling (nearest, bilinear), a transposed conv, pools with padding, a
    channel concat, torch.flatten, BatchNorm, PReLU per channel — against PyTorch's own counts."""
    import warnings

    torch = torch_onnx
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.hs, self.silu, self.prelu, self.lrelu = nn.Hardswish(), nn.SiLU(), nn.PReLU(8), nn.LeakyReLU(0.2)
            self.bn = nn.BatchNorm2d(8)
            self.up, self.upb = nn.Upsample(scale_factor=2), nn.Upsample(scale_factor=2, mode="bilinear")
            self.t = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
            self.pool, self.ap = nn.MaxPool2d(3, 2, padding=1), nn.AvgPool2d(2)
            self.gap, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(20, 5, bias=False)

        def forward(self, x):
            x = self.bn(self.lrelu(self.prelu(self.silu(self.hs(self.c1(x))))))
            y = torch.cat([self.up(x), self.upb(x), self.t(x)], 1)
            y = self.ap(self.pool(y))
            return self.fc(torch.flatten(self.gap(y), 1))

    m = M().eval()
    x = torch.zeros(1, 3, 32, 32)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = m(x)
    path = tmp_path / "ops.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (x,), str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "b"}},
                          training=torch.onnx.TrainingMode.PRESERVE)
    rep, text = report_of(path)
    assert rep.totals.params == sum(p.numel() for p in m.parameters())
    assert rep.totals.non_trainable_params == 16
    assert rep.totals.macs == counter.get_total_flops() // 2
    assert rep.output_shape == tuple(y.shape[1:])
    assert "negative_slope: 0.2}" in text and "mode: bilinear" in text and "conv_transpose" in text


def test_onnx_dynamo_exporter(torch_onnx, tmp_path):
    """PyTorch's default (dynamo) exporter, when onnxscript is installed: other node names (the
    module scopes are in metadata), the shapes side graph optimised differently."""
    pytest.importorskip("onnxscript")
    import warnings

    torch = torch_onnx
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.branch = nn.Conv2d(8, 8, 1, bias=False)
            self.pool = nn.AvgPool2d(2, ceil_mode=True)
            self.head = nn.Linear(8 * 4 * 4, 6)

        def forward(self, x):
            x = torch.relu(self.stem(x))
            x = self.pool(x + self.branch(x))
            return self.head(x.flatten(1))

    m = M().eval()
    x = torch.zeros(2, 3, 15, 15)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = m(x[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (x,), str(tmp_path / "d.onnx"), dynamo=True, input_names=["x"],
                          dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, verbose=False)
    rep, text = report_of(tmp_path / "d.onnx")
    assert rep.totals.params == sum(p.numel() for p in m.parameters())
    assert rep.totals.macs == counter.get_total_flops() // 2
    assert rep.output_shape == tuple(y.shape[1:])
    for name in ("stem", "branch", "pool", "head"):
        assert f"name: {name}," in text, text


def test_not_a_model_suffix_and_missing_file(tmp_path):
    assert "no such file" in error_of("import", str(tmp_path / "none.onnx"))
    assert "no such file" in error_of(str(tmp_path / "none.prototxt"))
    with pytest.raises(CnnCalcError):
        load_model(str(tmp_path / "x.txt"))


def test_keras_dense_on_a_feature_map_acts_on_the_last_axis(tmp_path):
    # as Keras does (and cnncalc's dense since issue 12): 3·2 + 2 params, 4·4·3·2 MACs, 4×4×2 out
    L = keras3_layer
    doc = {"class_name": "Sequential", "config": {"name": "d", "layers": [
        L("InputLayer", "i", {"batch_shape": [None, 4, 4, 3]}), L("Dense", "head", {"units": 2})]}}
    rep, _ = report_of(write(tmp_path, "d.json", json.dumps(doc)))
    head = rep.layer("head")
    assert (head.params, head.macs, head.output_shape) == (3 * 2 + 2, 4 * 4 * 3 * 2, (4, 4, 2))


def test_mutated_model_files_give_one_line_or_a_report(tmp_path):
    """Truncated, bit-flipped and token-spliced copies of the checked-in files: a report or one
    `cnncalc: error:` line with exit code 2, never an internal error (a seeded sample)."""
    import random

    rng = random.Random(13)
    names = ["alexnet_v1.prototxt", "googlenet_3b_v2.prototxt", "small_functional.keras"]
    try:
        import onnx  # noqa: F401

        names.append("small_cnn.onnx")
    except ImportError:
        pass
    datas = {n: (MODELS / n).read_bytes() for n in names}
    datas["config.json"] = zipfile.ZipFile(MODELS / "small_functional.keras").read("config.json")
    tokens = [b"{", b"}", b":", b'"', b"layer", b"top", b"bottom", b"-1", b"0", b"1e400", b"[", b"]", b"null"]
    for _ in range(150):
        name = rng.choice(sorted(datas))
        d = bytearray(datas[name])
        how = rng.random()
        if how < 0.3:
            d = d[: rng.randrange(len(d))]
        elif how < 0.6:
            for _ in range(rng.randint(1, 5)):
                d[rng.randrange(len(d))] = rng.randrange(256)
        else:
            i = rng.randrange(len(d))
            d[i:i] = rng.choice(tokens)
        p = tmp_path / ("x" + Path(name).suffix)
        if name.endswith(".keras") and how >= 0.3:  # a sound zip around a damaged config.json
            cfg = datas["config.json"]
            with zipfile.ZipFile(p, "w") as z:
                z.writestr("config.json", cfg[: rng.randrange(len(cfg))])
        else:
            p.write_bytes(bytes(d))
        r = run_cli(str(p), "--format", "json")
        assert r.code in (0, 2), (name, r.err)
        assert "internal error" not in r.err, (name, r.err)
        if r.code:
            assert len(r.err.strip().splitlines()) == 1, r.err


def test_keras_bad_h5_files(tmp_path):
    h5py = pytest.importorskip("h5py")
    data = (MODELS / "small_sequential.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[:2000])
    assert "not an HDF5 file h5py can open" in error_of(str(tmp_path / "cut.h5"))
    with h5py.File(tmp_path / "weights.h5", "w") as f:
        f.create_dataset("w", data=[1.0, 2.0])
    assert "holds no model_config" in error_of(str(tmp_path / "weights.h5"))


@pytest.mark.parametrize("number, digits", [("9" * 4301, "4,301"), ("-" + "1" * 101, "101"),
                                            ("0x" + "f" * 101, "101")])
def test_a_prototxt_integer_over_100_digits_is_refused_where_it_stands(tmp_path, number, digits):
    # found by the fuzz harness: a 4,301-digit kernel_size reached Python's int() limit (an internal error)
    text = (MODELS / "alexnet_v1.prototxt").read_text(encoding="utf-8")
    line_no, line = next((i, s) for i, s in enumerate(text.splitlines(), 1) if "kernel_size" in s)
    col = line.index(":") + 3
    f = tmp_path / "big.prototxt"
    f.write_text(text.replace(line, line[:col - 1] + number, 1), encoding="utf-8")
    r = run_cli(str(f))
    assert r.code == 2 and r.out == ""
    assert r.err == (f"cnncalc: error: {f}:{line_no}:{col}: an integer of {digits} digits is over the limit of 100 "
                     "digits (MAX_INT_DIGITS)\n")


def test_a_prototxt_integer_of_100_digits_is_read_exactly(tmp_path):
    text = (MODELS / "alexnet_v1.prototxt").read_text(encoding="utf-8")
    line = next(s for s in text.splitlines() if "num_output" in s)
    f = tmp_path / "wide.prototxt"
    f.write_text(text.replace(line, line[:line.index(":") + 2] + "2" + "0" * 99, 1), encoding="utf-8")  # 2·10^99
    r = run_cli(str(f), "--format", "json")
    assert r.code == 0, r.err
    conv1 = json.loads(r.out)["layers"][1]
    assert conv1["output_shape"] == [55, 55, 2 * 10 ** 99]  # (227 − 11)/4 + 1 = 55
    assert conv1["params"] == (11 * 11 * 3 + 1) * 2 * 10 ** 99


@pytest.mark.parametrize("digits", [101, 4400])
def test_a_keras_json_integer_over_100_digits_is_refused_where_it_stands(tmp_path, digits):
    # Python's own int() limit (4,300 digits) used to be quoted, with advice to call sys.set_int_max_str_digits()
    f = tmp_path / "big.json"
    f.write_text('{\n  "class_name": "Sequential",\n  "units": ' + "7" * digits + "\n}\n", encoding="utf-8")
    r = run_cli(str(f))
    assert r.code == 2 and r.out == ""
    assert r.err == (f"cnncalc: error: {f}:3:12: an integer of {digits:,} digits is over the limit of 100 digits "
                     "(MAX_INT_DIGITS)\n")
