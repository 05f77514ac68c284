# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The figure tools end to end on a tiny model and image set: PNGs, printed summaries, the
numbers against the package functions, clear errors, and ``write_run_figures``."""
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from tests.analysis_helpers import (
    NUM_CLASSES,
    epoch_records,
    make_tiny_set,
    save_random_checkpoint,
    write_block_config,
    write_classifier_config,
    write_pretrain_config,
    write_scalars,
)
from tests.tiny_run import load_tool

TOOLS = {
    'class_embedding_heatmap': 'visualization',
    'embedding_map': 'visualization',
    'block_wise_preview': 'visualization',
    'per_class_ap': 'analysis_tools',
    'label_cooccurrence': 'analysis_tools',
    'training_curves': 'analysis_tools',
}


def _load(name):
    return load_tool(f'tools/{TOOLS[name]}/{name}.py', f'vis_tool_{name}')


def _assert_png(path, min_side=200):
    assert osp.isfile(path), path
    assert osp.getsize(path) > 5000, f'{path} is only {osp.getsize(path)} bytes'
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.format == 'PNG'
        assert min(img.size) >= min_side, img.size
        # not a blank canvas
        assert np.asarray(img.convert('L')).std() > 1.0


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """Two random classifier checkpoints, a pretraining checkpoint and their configs."""
    root = tmp_path_factory.mktemp('vis_tiny')
    data = make_tiny_set(str(root / 'toy'))
    cls_cfg = write_classifier_config(str(root / 'cls.py'), data)
    pre_cfg = write_pretrain_config(str(root / 'pre.py'))
    return dict(
        root=root, data=data, cls_cfg=cls_cfg, pre_cfg=pre_cfg,
        ckpt_a=save_random_checkpoint(cls_cfg, str(root / 'a.pth'), seed=0),
        ckpt_b=save_random_checkpoint(cls_cfg, str(root / 'b.pth'), seed=1),
        ckpt_pre=save_random_checkpoint(pre_cfg, str(root / 'pre.pth'), seed=2))


@pytest.mark.parametrize('name', sorted(TOOLS))
def test_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        _load(name).main(['--help'])
    assert exc.value.code == 0
    assert 'usage:' in capsys.readouterr().out


def test_class_embedding_heatmap(tiny, tmp_path, capsys):
    from mlcl_plugin.analysis import build_dataset, build_model, class_similarity, extract
    from mlcl_plugin.analysis.loading import dataset_config, load_config

    out = str(tmp_path / 'heat.png')
    result = _load('class_embedding_heatmap').main([
        '--run', 'A', tiny['cls_cfg'], tiny['ckpt_a'],
        '--run', 'Pre', tiny['pre_cfg'], tiny['ckpt_pre'],
        '--data-root', tiny['data'], '--tau', '0.2', '--out', out])
    printed = capsys.readouterr().out
    _assert_png(out)
    assert 'mean diagonal mass' in printed
    # the printed numbers are those of the package functions on the same embeddings
    cfg = load_config(tiny['cls_cfg'])
    dataset = build_dataset(dataset_config(cfg))
    ex = extract(build_model(cfg, tiny['ckpt_a']), dataset)
    sim = class_similarity(ex.embeddings, ex.targets, tau=0.2)
    assert result['mean_diagonal_mass']['A'] == pytest.approx(sim.mean_diagonal_mass)
    assert f'A: {sim.mean_diagonal_mass:.4f}' in printed
    k = len(result['classes'])
    for value in result['mean_diagonal_mass'].values():
        assert 1.0 / k - 1e-9 <= value <= 1.0
    if result['fallback_classes']:
        assert 'never occur alone' in printed


def test_heatmap_neck_stage_of_pretraining_needs_data_config(tiny, tmp_path, capsys):
    tool = _load('class_embedding_heatmap')
    out = str(tmp_path / 'neck.png')
    with pytest.raises(ValueError, match='--data-config'):
        tool.main(['--run', 'Pre', tiny['pre_cfg'], tiny['ckpt_pre'], '--out', out])
    result = tool.main(['--run', 'Pre', tiny['pre_cfg'], tiny['ckpt_pre'], '--stage', 'neck',
                        '--data-config', tiny['cls_cfg'], '--center', '--out', out])
    assert 'neck embeddings of 16 dims' in capsys.readouterr().out
    _assert_png(out)
    assert set(result['mean_diagonal_mass']) == {'Pre'}


def test_embedding_map(tiny, tmp_path, capsys):
    out = str(tmp_path / 'map.png')
    result = _load('embedding_map').main([
        '--run', 'A', tiny['cls_cfg'], tiny['ckpt_a'], '--run', 'B', tiny['cls_cfg'],
        tiny['ckpt_b'], '--labels', 'square', '2', '--k', '3', '--perplexity', '5',
        '--out', out])
    printed = capsys.readouterr().out
    _assert_png(out)
    assert result['labels'][0] == 'square'
    assert len(result['agreement']['A']) == 2
    assert all(0.0 <= a <= 1.0 for a in result['agreement']['B'])
    assert 'neighbour agreement (k = 3)' in printed
    with pytest.raises(ValueError, match="unknown class 'nope'"):
        _load('embedding_map').main(['--run', 'A', tiny['cls_cfg'], tiny['ckpt_a'],
                                     '--labels', 'nope', '--out', out])
    with pytest.raises(ValueError, match='index 99 is out of range'):
        _load('embedding_map').main(['--run', 'A', tiny['cls_cfg'], tiny['ckpt_a'],
                                     '--labels', '99', '--out', out])


def test_per_class_ap_and_cooccurrence(tiny, tmp_path, capsys):
    from mlcl_plugin.analysis import build_dataset, build_model, extract, per_class_ap
    from mlcl_plugin.analysis.cooccurrence import label_cooccurrence
    from mlcl_plugin.analysis.loading import dataset_config, load_config

    cfg = load_config(tiny['cls_cfg'])
    ex_b = extract(build_model(cfg, tiny['ckpt_b']), build_dataset(dataset_config(cfg)))
    npz = str(tmp_path / 'b_scores.npz')
    np.savez(npz, scores=ex_b.scores, targets=ex_b.targets)

    out = str(tmp_path / 'ap.png')
    result = _load('per_class_ap').main([
        '--run', 'A', tiny['cls_cfg'], tiny['ckpt_a'], '--scores', 'B', npz, '--out', out])
    printed = capsys.readouterr().out
    _assert_png(out)
    assert list(result['mAP']) == ['A', 'B']
    assert result['mAP']['B'] == pytest.approx(np.nanmean(per_class_ap(ex_b.scores,
                                                                      ex_b.targets)))
    assert f'mAP B: {result["mAP"]["B"]:.2f}' in printed
    assert len(result['order']) == NUM_CLASSES

    out = str(tmp_path / 'cooc.png')
    result = _load('label_cooccurrence').main([
        '--scores', 'B', npz, '--data-config', tiny['cls_cfg'], '--thr', '0.45', '--out', out])
    printed = capsys.readouterr().out
    _assert_png(out)
    ref = label_cooccurrence(ex_b.scores, ex_b.targets, 0.45)
    np.testing.assert_array_equal(result['true_counts'], ref.true_counts)
    np.testing.assert_array_equal(result['pred_counts'], ref.pred_counts)
    np.testing.assert_array_equal(result['cross_counts'], ref.cross_counts)
    assert 'co-occurrence gap' in printed
    assert result['classes'][0] == 'square'  # names from --data-config


def test_score_tools_reject_bad_input(tiny, tmp_path):
    tool = _load('per_class_ap')
    out = str(tmp_path / 'x.png')
    with pytest.raises(ValueError, match='no trained classification head'):
        tool.main(['--run', 'A', tiny['cls_cfg'], tiny['ckpt_a'], '--run', 'P', tiny['pre_cfg'],
                   tiny['ckpt_pre'], '--data-config', tiny['cls_cfg'], '--out', out])
    npz = str(tmp_path / 'other.npz')
    np.savez(npz, scores=np.full((3, NUM_CLASSES), 0.5), targets=np.ones((3, NUM_CLASSES)))
    with pytest.raises(ValueError, match='not scored on the same test set'):
        tool.main(['--run', 'A', tiny['cls_cfg'], tiny['ckpt_a'], '--scores', 'O', npz,
                   '--out', out])
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        tool.main(['--run', 'A', tiny['cls_cfg'], str(tmp_path / 'missing.pth'),
                   '--scores', 'O', npz, '--out', out])
    with pytest.raises(SystemExit):
        tool.main(['--scores', 'O', npz, '--out', out])  # one run only
    with pytest.raises(SystemExit):
        tool.main(['--scores', 'O', npz, '--scores', 'P', npz, '--out', 'x.jpg'])


def test_model_and_data_errors_are_named(tiny, tmp_path):
    from mlcl_plugin.analysis import build_dataset, build_model, extract
    from mlcl_plugin.analysis.loading import dataset_config, dataset_targets, load_config

    cfg = load_config(tiny['cls_cfg'])
    # a pretraining checkpoint in the classifier config: same backbone, no head -> no scores
    model = build_model(cfg, tiny['ckpt_pre'])
    assert model.scores_loaded is False
    # a checkpoint without the backbone, or with other shapes, is refused
    bad = str(tmp_path / 'bad.pth')
    torch.save({'state_dict': {'head.fc.weight': torch.zeros(NUM_CLASSES, 32)}}, bad)
    with pytest.raises(ValueError, match='bad.pth does not match .* backbone weights are'):
        build_model(cfg, bad)
    torch.save({'state_dict': {'head.fc.weight': torch.zeros(1)}}, bad)
    with pytest.raises(ValueError, match='bad.pth does not match .*head.fc.weight'):
        build_model(cfg, bad)
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        build_model(cfg, str(tmp_path / 'absent.pth'))
    with pytest.raises(FileNotFoundError, match='nope.py'):
        load_config(str(tmp_path / 'nope.py'))
    with pytest.raises(ValueError, match='no test_dataloader'):
        dataset_config(load_config(tiny['pre_cfg']), tiny['pre_cfg'])
    dataset = build_dataset(dataset_config(cfg))
    with pytest.raises(ValueError, match='label index .* out of range for 2 classes'):
        dataset_targets(dataset, num_classes=2)
    # non-finite embeddings (a diverged model) are refused, naming the source
    model = build_model(cfg, tiny['ckpt_a'])
    with torch.no_grad():
        model.backbone.conv1.weight.fill_(float('nan'))
    with pytest.raises(ValueError, match='diverged.pth: .* embeddings are not finite'):
        extract(model, dataset, source='diverged.pth')


def test_training_curves(tmp_path, capsys):
    a = str(tmp_path / 'a')
    write_scalars(a, '20260101_000000', epoch_records([1, 2, 3]))
    b = str(tmp_path / 'b')
    write_scalars(b, '20260101_000000', epoch_records([1, 2], loss0=50.0))  # no val metric
    out = str(tmp_path / 'curves.png')
    result = _load('training_curves').main([
        '--run', 'A', a, '--run', 'B', b, '--metrics', 'mAP', 'macro_f1', '--out', out])
    printed = capsys.readouterr().out
    _assert_png(out)
    assert result['A']['best']['multi-label/mAP'] == (30.0, 3.0)
    assert result['A']['last_loss'] == pytest.approx(1.0 / 12)
    assert 'multi-label/mAP: best 30.00 at epoch 3' in printed
    assert 'macro_f1: not logged' in printed
    with pytest.raises(FileNotFoundError, match='nowhere'):
        _load('training_curves').main(['--run', 'X', str(tmp_path / 'nowhere'), '--out', out])


def test_block_wise_preview(tmp_path, capsys):
    from mlcl_plugin.datasets.transforms.block_wise_aug import block_boxes

    cfg = write_block_config(str(tmp_path / 'block.py'))
    img = str(tmp_path / 'img.png')
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(img)
    tool = _load('block_wise_preview')
    out = str(tmp_path / 'preview.png')
    result = tool.main([cfg, img, '--out', out])
    printed = capsys.readouterr().out
    _assert_png(out)
    assert result['boxes'] == block_boxes(60, 40, 0.3).tolist()
    assert result['num_views'] == 8
    assert result['view_shape'] == [16, 16]
    assert result['found_in'] == 'train_dataloader.dataset.pipeline'
    assert 'covered by 2+ blocks' in printed
    result = tool.main([cfg, img, '--gamma', '0.1', '--grid', '3', '2', '--out', out])
    assert result['boxes'] == block_boxes(60, 40, 0.1, (3, 2)).tolist()
    assert result['num_views'] == 12
    with pytest.raises(ValueError, match='no BlockWiseAug'):
        tool.main([write_pretrain_config(str(tmp_path / 'p.py')), img, '--out', out])
    with pytest.raises(FileNotFoundError, match='missing.png'):
        tool.main([cfg, str(tmp_path / 'missing.png'), '--out', out])


def test_write_run_figures_skips_missing_inputs(tiny, tmp_path, capsys):
    from mlcl_plugin.analysis import write_run_figures

    logs = str(tmp_path / 'logs')
    write_scalars(logs, '20260101_000000', epoch_records([1, 2]))
    out_dir = str(tmp_path / 'figures')
    summary = write_run_figures(
        out_dir,
        config={'A': tiny['cls_cfg'], 'B': tiny['cls_cfg'], 'Pre': tiny['pre_cfg'],
                'Gone': tiny['cls_cfg']},
        checkpoints={'A': tiny['ckpt_a'], 'Pre': tiny['ckpt_pre'], 'B': tiny['ckpt_b'],
                     'Gone': str(tmp_path / 'gone.pth')},
        data_root=tiny['data'], log_dirs={'A': logs, 'Missing': str(tmp_path / 'none')})
    printed = capsys.readouterr().out
    for name in ('class_embedding_heatmap.png', 'per_class_ap.png', 'training_curves.png'):
        _assert_png(summary['figures'][name])
    assert osp.isfile(osp.join(out_dir, 'run_figures.json'))
    assert set(summary['mean_diagonal_mass']) == {'A', 'Pre', 'B'}
    assert list(summary['mAP']) == ['A', 'B']  # the first two with a head
    assert 'gone.pth does not exist' in summary['skipped']['run Gone']
    assert 'log Missing' in summary['skipped']
    assert 'skipped run Gone' in printed

    # nothing usable at all: every figure skipped with a reason, nothing raised
    summary = write_run_figures(str(tmp_path / 'none_out'), config='missing.py',
                                checkpoints={'X': 'x.pth'}, log_dirs={'X': 'nowhere'})
    assert summary['figures'] == {}
    assert {'class_embedding_heatmap.png', 'per_class_ap.png',
            'training_curves.png'} <= set(summary['skipped'])
