"""``tf.keras.visualization`` against Keras 3.15 on TensorFlow 2.21 (missing in convnp
before). The pixels, dtypes and figure contents below are what TF 2.21 gave (Keras draws
boxes with OpenCV 5.1; convnp reproduces those pixels with NumPy)."""

import sys

import numpy as np
import pytest

import convnp as tf

vis = tf.keras.visualization

# a 12x14 grey image, a box partly off a pixel grid and one running off the top edge
IMAGE = np.zeros((1, 12, 14, 1), "float32") + 5  # max > 1: the values are taken as 0-255
BOXES = {"boxes": np.array([[[2.9, 3, 10, 8], [9, -4, 20, 2]]], "float32"),
         "labels": np.array([[0, 1]])}

# TF 2.21's pixels painted (200) for each line_thickness ("#"), row by row
OUTLINES = {
    1: [".........#....", ".........#....", ".........#####", "..#########...",
        "..#.......#...", "..#.......#...", "..#.......#...", "..#.......#...",
        "..#########...", "..............", "..............", ".............."],
    2: ["........###...", "........######", "..############", ".#############",
        ".###########..", ".###.....###..", ".###.....###..", ".###########..",
        ".###########..", "..#########...", "..............", ".............."],
    3: [".......#######", "..############", ".#############", "##############",
        "##############", "#############.", "#############.", "#############.",
        "#############.", ".###########..", "..#########...", ".............."],
    5: ["..############", "##############", "##############", "##############",
        "##############", "##############", "##############", "##############",
        "##############", "#############.", "#############.", "..#########..."],
    -1: [".........#####", ".........#####", ".........#####", "..#########...",
         "..#########...", "..#########...", "..#########...", "..#########...",
         "..#########...", "..............", "..............", ".............."],
}


def test_namespace():
    assert {"draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery",
            "plot_image_gallery", "plot_segmentation_mask_gallery"} <= set(dir(vis))


@pytest.mark.parametrize("thickness", sorted(OUTLINES))
def test_draw_bounding_boxes_pixels_match_opencv(thickness):
    out = vis.draw_bounding_boxes(IMAGE, BOXES, "xyxy", line_thickness=thickness,
                                  color=(200, 0, 0))
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == IMAGE.shape
    drawn = ["".join(".#"[int(v == 200)] for v in row) for row in out[0, ..., 0]]
    assert drawn == OUTLINES[thickness]
    assert set(np.unique(out[0, ..., 0])) <= {5, 200}


def test_draw_bounding_boxes_colours_ranges_and_formats():
    # floats up to 1 are scaled by 255 and truncated; the colour is rounded and clipped
    out = vis.draw_bounding_boxes(np.full((1, 4, 5, 3), 0.5, "float32"),
                                  {"boxes": np.array([[[1, 1, 3, 2]]]), "labels": [[3]]},
                                  "xyxy", color=(10.4, 20.6, 300), line_thickness=1)
    assert out[0, 0].tolist() == [[127, 127, 127]] * 5
    assert out[0, 1, 1:4].tolist() == [[10, 21, 255]] * 3
    # a fourth channel gets 0 (OpenCV's colour has four values); uint8 images as they are
    rgba = vis.draw_bounding_boxes(np.full((1, 3, 3, 4), 100, "uint8"),
                                   {"boxes": np.array([[[0, 0, 1, 1]]]), "labels": [[3]]},
                                   "xyxy", color=(1, 2, 3), line_thickness=1)
    assert rgba[0, 0, 0].tolist() == [1, 2, 3, 0] and rgba[0, 2, 2].tolist() == [100] * 4
    # a label of -1 is not drawn; other formats are converted first
    skipped = vis.draw_bounding_boxes(IMAGE, {"boxes": BOXES["boxes"], "labels": [[-1, -1]]},
                                      "xyxy")
    assert (skipped == 5).all()
    rel = vis.draw_bounding_boxes(IMAGE, {"boxes": np.array([[[2 / 14, 3 / 12, 10 / 14,
                                                               8 / 12]]]), "labels": [[0]]},
                                  "rel_xyxy", line_thickness=1, color=(200,))
    assert (rel[0, 3, 2:11, 0] == 200).all() and (rel[0, 4, 3:10, 0] == 5).all()
    # the caller's images are not drawn on
    image = np.full((1, 6, 6, 3), 9, "uint8")
    vis.draw_bounding_boxes(image, {"boxes": [[[1, 1, 4, 4]]], "labels": [[0]]}, "xyxy")
    assert (image == 9).all()


def test_draw_bounding_boxes_channels_first_and_misuse():
    # TF 2.21 fails inside OpenCV on channels-first images; convnp draws them
    first = vis.draw_bounding_boxes(np.transpose(IMAGE, (0, 3, 1, 2)), BOXES, "xyxy",
                                    color=(200,), line_thickness=2,
                                    data_format="channels_first")
    assert first.shape == (1, 1, 12, 14)
    assert ["".join(".#"[int(v == 200)] for v in row) for row in first[0, 0]] == OUTLINES[2]
    with pytest.raises(ValueError):
        vis.draw_bounding_boxes(IMAGE[0], BOXES, "xyxy")  # not a batch
    with pytest.raises(TypeError):
        vis.draw_bounding_boxes(IMAGE, BOXES["boxes"], "xyxy")  # not a dict
    with pytest.raises(ValueError):
        vis.draw_bounding_boxes(IMAGE, {"boxes": BOXES["boxes"]}, "xyxy")  # no labels


def test_draw_bounding_boxes_writes_class_names():
    image = np.zeros((1, 60, 80, 3), "float32") + 7
    boxes = {"boxes": np.array([[[10, 30, 50, 55]]], "float32"), "labels": np.array([[1]])}
    plain = vis.draw_bounding_boxes(image, boxes, "xyxy")
    named = vis.draw_bounding_boxes(image, boxes, "xyxy", class_mapping={1: "cat"},
                                    font_scale=0.5)
    if "PIL" in sys.modules or _has_pillow():
        # with room above the box the name goes there (Keras' place for it, baseline 8 px
        # above); its letters are Pillow's
        above = named[0, :29] != plain[0, :29]
        assert above.any() and not (named[0, 30:] != plain[0, 30:]).any()


def _has_pillow() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True


IMG = np.arange(18, dtype="float32").reshape(1, 2, 3, 3) * 10
MASK = np.array([0, 1, 2, 3, -1, 1]).reshape(1, 2, 3, 1)


def test_draw_segmentation_masks_matches_tf():
    # num_classes defaults to the largest class (3), so class 3 keeps the image's colours
    out = vis.draw_segmentation_masks(IMG, MASK)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    assert out.tolist() == [[[[0, 2, 4], [6, 109, 34], [13, 217, 65]],
                             [[90, 100, 110], [120, 130, 140], [30, 133, 58]]]]
    assert vis.draw_segmentation_masks(IMG, MASK, num_classes=4)[0, 1, 0].tolist() == [
        20, 120, 96]
    painted = vis.draw_segmentation_masks(IMG, MASK, num_classes=4, blend=False)
    assert isinstance(painted, tf.Tensor) and painted.dtype == "float32"
    assert np.asarray(painted).tolist() == [[[[0, 0, 0], [1, 127, 31], [2, 254, 62]],
                                             [[3, 126, 93], [120, 130, 140], [1, 127, 31]]]]
    mixed = vis.draw_segmentation_masks(IMG, MASK, num_classes=3, alpha=0.25, ignore_index=1,
                                        color_mapping={0: (255, 0, 0), 1: (0, 255, 0),
                                                       2: (0, 0, 255)})
    assert mixed.tolist() == [[[[63, 7, 15], [30, 40, 50], [45, 52, 123]],
                               [[90, 100, 110], [120, 130, 140], [150, 160, 170]]]]
    # channels-first input comes back channels-last, as in Keras
    first = vis.draw_segmentation_masks(np.transpose(IMG, (0, 3, 1, 2)),
                                        np.transpose(MASK, (0, 3, 1, 2)), num_classes=4,
                                        data_format="channels_first")
    assert first.shape == (1, 2, 3, 3)
    with pytest.raises(TypeError):
        vis.draw_segmentation_masks(IMG, MASK.astype("float32"))
    with pytest.raises(ValueError):
        vis.draw_segmentation_masks(IMG[0], MASK[0], num_classes=3)
    with pytest.raises(ValueError):
        vis.draw_segmentation_masks(IMG, MASK[..., 0], num_classes=3)


RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(0, 255, (4, 10, 12, 3)).astype("float32")


@pytest.fixture
def plt():
    """pyplot with every figure closed before and after (the galleries are skipped without
    matplotlib, an optional extra)."""
    pyplot = pytest.importorskip("matplotlib.pyplot")
    pyplot.close("all")
    yield pyplot
    pyplot.close("all")


def _figure():
    """(rows, cols) of each axes, their image arrays and titles, and the figure's size."""
    import matplotlib.pyplot as plt

    fig = plt.gcf()
    cells = [(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start)
             for ax in fig.axes]
    arrays = [np.asarray(ax.images[0].get_array()) if ax.images else None for ax in fig.axes]
    titles = [ax.get_title() for ax in fig.axes]
    size = [float(v) for v in fig.get_size_inches()]
    legend = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    plt.close("all")
    return cells, arrays, titles, size, legend


def test_plot_image_gallery_figure(plt):
    assert vis.plot_image_gallery(IMAGES, show=False) is None  # Keras returns nothing
    cells, arrays, _, size, legend = _figure()
    assert cells == [(0, 0), (0, 1), (1, 0), (1, 1)] and size == [4.0, 4.0] and legend == []
    for array, image in zip(arrays, IMAGES):
        assert array.dtype == np.uint8 and (array == image.astype("uint8")).all()
    # Keras' default grid for 3 images: 2 rows of 1 column (the third is left out)
    vis.plot_image_gallery(IMAGES[:3], show=False)
    cells, arrays, _, size, _ = _figure()
    assert cells == [(0, 0), (1, 0)] and size == [2.0, 4.0]
    vis.plot_image_gallery(IMAGES / 127.5 - 1, value_range=(-1, 1), rows=1, cols=4, scale=3,
                           show=False)
    cells, arrays, _, size, _ = _figure()
    assert len(cells) == 4 and size == [12.0, 3.0]
    assert np.abs(arrays[0].astype(int) - IMAGES[0].astype("uint8")).max() <= 1
    vis.plot_image_gallery(IMAGES, y_true=np.array([0, 1, 2, 1]), y_pred=np.array([1, 1, 0, 5]),
                           label_map={0: "cat", 1: "dog", 2: "bird"}, show=False)
    assert _figure()[2] == ["Label: cat  Pred: dog", "Label: dog  Pred: dog",
                            "Label: bird  Pred: cat", "Label: dog  Pred: Unknown"]
    vis.plot_image_gallery(IMAGES, y_true=[0, 1], label_map={0: "cat", 1: "dog"}, show=False)
    assert _figure()[2] == ["Label: cat", "Label: dog", "", ""]


def test_plot_image_gallery_save_show_and_misuse(plt, tmp_path):
    path = tmp_path / "gallery.png"
    vis.plot_image_gallery(IMAGES, path=str(path))
    assert path.stat().st_size > 0 and not plt.get_fignums()  # saved and closed
    vis.plot_image_gallery(IMAGES)  # shown (nothing on Agg) and closed
    assert not plt.get_fignums()
    with pytest.raises(ValueError):
        vis.plot_image_gallery(IMAGES, path=str(path), show=True)
    with pytest.raises(ValueError):
        vis.plot_image_gallery(IMAGES, y_true=np.array([0, 1, 2, 1]), show=False)
    with pytest.raises(ValueError):
        vis.plot_image_gallery(IMAGES[0], show=False)
    # more cells than images (TF 2.21: IndexError) and channels-first images (TF 2.21:
    # TypeError from a double transpose) are drawn by convnp
    vis.plot_image_gallery(IMAGES, rows=2, cols=3, show=False)
    assert [a is None for a in _figure()[1]] == [False] * 4 + [True] * 2
    vis.plot_image_gallery(np.transpose(IMAGES, (0, 3, 1, 2)), data_format="channels_first",
                           show=False)
    assert (_figure()[1][3] == IMAGES[3].astype("uint8")).all()


def test_plot_bounding_box_gallery_figure(plt):
    true = {"boxes": np.array([[[1, 1, 8, 7]], [[2, 2, 6, 6]], [[0, 0, 3, 3]], [[4, 4, 9, 9]]],
                              "float32"), "labels": np.array([[0], [1], [0], [-1]])}
    pred = {"boxes": np.array([[[2, 1, 9, 8]], [[1, 2, 5, 6]], [[0, 1, 3, 4]], [[4, 3, 9, 8]]],
                              "float32"), "labels": np.array([[0], [1], [0], [1]])}
    vis.plot_bounding_box_gallery(IMAGES, "xyxy", y_true=true, y_pred=pred, show=False)
    arrays = _figure()[1]
    # TF 2.21's sums of the four drawn images
    assert [int(a.astype(np.int64).sum()) for a in arrays] == [59490, 52812, 49599, 55997]
    vis.plot_bounding_box_gallery(IMAGES, "xyxy", y_true=true, legend=True, show=False)
    assert _figure()[4] == ["Ground Truth", "Prediction"]
    vis.plot_bounding_box_gallery(IMAGES / 255, "xyxy", value_range=(0, 1), y_true=true,
                                  line_thickness=1, show=False)
    assert [int(a.astype(np.int64).sum()) for a in _figure()[1]] == [36385, 42045, 42150, 46069]
    with pytest.raises(ValueError):
        vis.plot_bounding_box_gallery(IMAGES, "xyxy", y_true=true, legend=True,
                                      legend_handles=["x"], show=False)


def test_plot_segmentation_mask_gallery_figure(plt):
    masks = RNG.integers(0, 3, (2, 10, 12, 1))
    vis.plot_segmentation_mask_gallery(IMAGES[:2], num_classes=3, y_true=masks,
                                       y_pred=masks[::-1], show=False)
    cells, arrays, _, size, _ = _figure()
    assert cells == [(r, c) for r in range(2) for c in range(3)] and size == [6.0, 4.0]
    assert (arrays[0] == IMAGES[0].astype("uint8")).all()
    expected = vis.draw_segmentation_masks(IMAGES[:2], masks, num_classes=3)
    assert (arrays[1] == expected[0]).all() and (arrays[4] == expected[1]).all()
    vis.plot_segmentation_mask_gallery(IMAGES[:2], num_classes=3, show=False)
    assert _figure()[0] == [(0, 0), (1, 0)]


def test_galleries_without_matplotlib_say_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"convnp\[plot\]"):
        vis.plot_image_gallery(IMAGES, show=False)


def test_tensorflow_import_paths_resolve():
    # ``from tensorflow.keras.visualization import ...`` (and the other two new namespaces),
    # as a notebook writes them, under convnp.compat.as_tensorflow
    import convnp
    from convnp import compat

    if "tensorflow" in sys.modules and sys.modules["tensorflow"] is not convnp:
        pytest.skip("the real TensorFlow is imported in this process")
    compat.as_tensorflow()
    try:
        from tensorflow.keras.dtype_policies import DTypePolicyMap
        from tensorflow.keras.utils.bounding_boxes import convert_format
        from tensorflow.keras.visualization import draw_bounding_boxes

        assert draw_bounding_boxes is vis.draw_bounding_boxes
        assert convert_format is tf.keras.utils.bounding_boxes.convert_format
        assert DTypePolicyMap is tf.keras.dtype_policies.DTypePolicyMap
    finally:
        compat.restore()
