# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MulConClassifier: stage-1 BCE, stage-2 BCE + label contrast against a plain reference,
predict, the multi-view data preprocessor, and the shipped configs (EMA hook, stage 2 loading
a stage-1 checkpoint through stock tools/train.py and the runner)."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mlcl_plugin  # noqa: F401  (registers the modules)
from mlcl_plugin.models.classifiers import MulConClassifier
from mlcl_plugin.models.data_preprocessors import MultiViewClsDataPreprocessor
from tests.tiny_run import REPO_ROOT, run_stock_train

L, E, D = 5, 16, 8
MEAN, STD = [120., 110., 100.], [50., 60., 70.]
STAGE1 = 'configs/mulcon/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-448px.py'
STAGE2 = 'configs/mulcon/mulcon-stage2_resnet101_2xb12-sgd-15e_coco-448px.py'
STAGE1_COCO128 = 'configs/mulcon/mulcon-stage1_resnet18_1xb16-adamw-8e_coco128-128px.py'
STAGE2_COCO128 = 'configs/mulcon/mulcon-stage2_resnet18_1xb8-sgd-4e_coco128-128px.py'


def build(stage=1, seed=0, **kwargs):
    torch.manual_seed(seed)
    cfg = dict(
        type='MulConClassifier',
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(3, )),
        neck=dict(type='LabelWiseAttentionNeck', in_channels=64, num_classes=L, embed_dims=E,
                  num_heads=2, num_token_layers=1),
        head=dict(type='LabelWiseLinearClsHead', num_classes=L, in_channels=E,
                  loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0 / L)),
        data_preprocessor=dict(num_classes=L, mean=MEAN, std=STD, to_rgb=True,
                               to_onehot=True))
    if stage == 2:
        cfg.update(projector=dict(hid_channels=12, out_channels=D),
                   contrast_loss=dict(type='LabelContrastiveLoss', temperature=0.2))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(labels):
    return [DataSample().set_gt_label(lab) for lab in labels]


LABELS = [[0, 2], [2], [], [1, 2, 4]]  # one image without any label


def multi_hot(labels):
    out = torch.zeros(len(labels), L)
    for row, lab in enumerate(labels):
        out[row, lab] = 1
    return out


def reference_supcon(z, labels, tau=0.2):
    """Per-anchor SupCon L_out over the present entries (plain loops; MulCon, Dao et al.,
    arXiv 2107.11626)."""
    entries = [(n, c) for n in range(z.shape[0]) for c in range(z.shape[1]) if labels[n, c]]
    total = z.new_zeros(())
    for a, (n, c) in enumerate(entries):
        others = [b for b in range(len(entries)) if b != a]
        pos = [b for b in others if entries[b][1] == c]
        if not pos:
            continue  # no positive: adds 0, still counted below
        za = z[n, c]
        sims = torch.stack([za @ z[entries[b][0], entries[b][1]] / tau for b in others])
        log_den = torch.logsumexp(sims, dim=0)
        terms = [za @ z[entries[b][0], entries[b][1]] / tau - log_den for b in pos]
        total = total - torch.stack(terms).sum() / len(pos)
    return total / max(len(entries), 1)


def test_label_projector_is_registered():
    assert MODELS.build(dict(type='LabelProjector', in_channels=8, out_channels=4))(
        torch.zeros(2, 3, 8)).shape == (2, 3, 4)


def test_stage1_loss_is_head_bce():
    model = build(stage=1)
    assert not model.with_contrast
    assert model.projector is None
    assert isinstance(model.data_preprocessor, MultiViewClsDataPreprocessor)
    x = torch.randn(4, 3, 64, 64)
    data = samples(LABELS)
    losses = model.loss(x, data)
    assert set(losses) == {'loss'}
    feats = model.extract_feat(x)
    torch.testing.assert_close(losses['loss'], model.head.loss(feats, data)['loss'])
    # loss_weight = 1 / L turns the head's sum over classes into the reference's mean BCE
    expected = F.binary_cross_entropy_with_logits(model.head(feats), multi_hot(LABELS))
    torch.testing.assert_close(losses['loss'], expected)
    # the stock forward(mode='loss') gives the same
    torch.testing.assert_close(model(x, data, mode='loss')['loss'], expected)


def test_stage2_loss_matches_reference():
    model = build(stage=2)
    assert model.with_contrast
    assert model.contrast_weight == 0.5
    g = torch.Generator().manual_seed(3)
    views = [torch.randn(4, 3, 64, 64, generator=g) for _ in range(2)]
    losses = model.loss(views, samples(LABELS))
    assert set(losses) == {'loss_cls', 'loss_con'}

    # reference: one batch of all first views then all second views (BN sees both views),
    # labels duplicated, mean BCE over the 2B x L logits, then 0.5 x SupCon over the
    # normalised projections of the present labels
    feats = model.extract_feat(torch.cat(views))
    emb = feats[-1]
    labels = multi_hot(LABELS).repeat(2, 1)
    logits = torch.einsum('nle,le->nl', emb, model.head.weight) + model.head.bias
    bce = F.binary_cross_entropy_with_logits(logits, labels)
    proj = model.projector
    z = F.normalize(proj.fc2(torch.relu(proj.fc1(emb))), dim=-1)
    con = reference_supcon(z, labels)
    torch.testing.assert_close(losses['loss_cls'], bce)
    torch.testing.assert_close(losses['loss_con'], 0.5 * con)
    assert con > 0
    # what the runner optimises and logs: `loss` is the total, the terms are logged apart
    total, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(total, bce + 0.5 * con)
    torch.testing.assert_close(log_vars['loss'], (bce + 0.5 * con).detach())
    assert set(log_vars) == {'loss', 'loss_cls', 'loss_con'}
    # gradients reach the projector and the label queries
    (losses['loss_cls'] + losses['loss_con']).backward()
    assert model.projector.fc1.weight.grad.abs().sum() > 0
    assert model.neck.label_queries.grad.abs().sum() > 0


def test_stage2_contrast_weight():
    model = build(stage=2, contrast_weight=2.0)
    views = [torch.randn(4, 3, 64, 64) for _ in range(2)]
    base = build(stage=2).loss(views, samples(LABELS))
    losses = model.loss(views, samples(LABELS))
    torch.testing.assert_close(losses['loss_con'], 4 * base['loss_con'])
    torch.testing.assert_close(losses['loss_cls'], base['loss_cls'])


def test_stage2_needs_two_views_and_projector_needs_loss():
    model = build(stage=2)
    with pytest.raises(ValueError, match='two views'):
        model.loss(torch.randn(4, 3, 64, 64), samples(LABELS))
    with pytest.raises(ValueError, match='data samples'):
        model.loss([torch.randn(3, 3, 64, 64)] * 2, samples(LABELS))
    with pytest.raises(ValueError, match='projector'):
        build(stage=1, projector=dict(out_channels=4))


def test_predict_gives_pred_score_from_one_view():
    model = build(stage=2)
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        preds = model(x, samples([[0], [1, 3]]), mode='predict')
        logits = model(x)  # mode='tensor'
        expected = torch.sigmoid(model.head(model.extract_feat(x)))
        listed = model.predict([x])
    assert logits.shape == (2, L)
    for row, sample in enumerate(preds):
        assert sample.pred_score.shape == (L, )
        torch.testing.assert_close(sample.pred_score, expected[row])
        torch.testing.assert_close(listed[row].pred_score, expected[row])
    with pytest.raises(ValueError, match='one view'):
        model.predict([x, x])


def test_inference_through_stock_test_step():
    """What the stock val/test loop and mmpretrain's inferencers call: ``test_step``."""
    model = build(stage=1)
    model.eval()
    imgs = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    with torch.no_grad():
        out = model.test_step(dict(inputs=imgs, data_samples=samples([[0], [1]])))
        ref = ClsDataPreprocessor(mean=MEAN, std=STD, to_rgb=True)(dict(inputs=imgs))['inputs']
        expected = torch.sigmoid(model(ref))
    torch.testing.assert_close(torch.stack([s.pred_score for s in out]), expected)


def test_multi_view_data_preprocessor():
    cfg = dict(mean=MEAN, std=STD, to_rgb=True, to_onehot=True, num_classes=L)
    pre = MultiViewClsDataPreprocessor(**cfg)
    stock = ClsDataPreprocessor(**cfg)
    views = [torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8) for _ in range(2)]
    out = pre(dict(inputs=views, data_samples=samples(LABELS)), training=True)
    assert isinstance(out['inputs'], list)
    assert len(out['inputs']) == 2
    for view, got in zip(views, out['inputs']):
        torch.testing.assert_close(got, stock(dict(inputs=view))['inputs'])
    torch.testing.assert_close(torch.stack([s.gt_score for s in out['data_samples']]).float(),
                               multi_hot(LABELS))
    # single view: the stock behaviour
    single = pre(dict(inputs=views[0], data_samples=samples(LABELS)))
    torch.testing.assert_close(single['inputs'], stock(dict(inputs=views[0]))['inputs'])
    # pseudo_collate of MultiView: B lists of V images
    per_sample = [[views[v][i] for v in range(2)] for i in range(4)]
    pseudo = pre(dict(inputs=per_sample, data_samples=samples(LABELS)))
    for view, got in zip(views, pseudo['inputs']):
        torch.testing.assert_close(got, stock(dict(inputs=view))['inputs'])
    mixing = MultiViewClsDataPreprocessor(
        **cfg, batch_augments=dict(augments=dict(type='Mixup', alpha=1.)))
    with pytest.raises(ValueError, match='batch_augments'):
        mixing(dict(inputs=views, data_samples=samples(LABELS)), training=True)


def _load(rel):
    return Config.fromfile(osp.join(REPO_ROOT, rel))


@pytest.mark.parametrize('rel', [STAGE1, STAGE2, STAGE1_COCO128, STAGE2_COCO128])
def test_configs_use_ema_hook_and_paper_metric(rel):
    cfg = _load(rel)
    emas = [h for h in cfg.custom_hooks if h['type'] == 'EMAHook']
    assert len(emas) == 1
    assert emas[0]['update_buffers'] is True
    if 'coco128' not in rel:
        assert emas[0]['momentum'] == pytest.approx(1 - 0.9997)  # decay 0.9997
    assert cfg.val_evaluator == dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True)
    assert cfg.model.type == 'MulConClassifier'
    stage2 = 'stage2' in rel
    assert (cfg.model.get('contrast_loss') is not None) == stage2
    if stage2:
        assert cfg.load_from
        assert cfg.model.backbone.init_cfg is None
        assert cfg.model.contrast_weight == 0.5
        assert cfg.model.contrast_loss.temperature == 0.2
        assert cfg.train_dataloader.dataset.pipeline[1]['type'] == 'MultiView'
        assert cfg.optim_wrapper.optimizer.type == 'SGD'
    else:
        assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    if rel == STAGE1:
        assert cfg.model.backbone.init_cfg.type == 'Pretrained'
        assert cfg.model.backbone.depth == 101
        assert cfg.train_cfg.max_epochs == 25


def _tiny_coco128_cfg(rel, coco128, work_dir, **options):
    cfg = _load(rel)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].update(num_workers=0, batch_size=4)
        cfg[name].dataset.update(data_root=coco128, indices=8)
        for t in cfg[name].dataset.pipeline:
            for step in ([t] + [s for group in t.get('transforms', []) for s in group]):
                if step['type'] in ('Resize', 'RandomResizedCrop'):
                    step['scale'] = 32 if step['type'] == 'RandomResizedCrop' else (32, 32)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.default_hooks.checkpoint.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(options)
    path = work_dir / 'cfg.py'
    cfg.dump(str(path))
    return cfg, path


@pytest.mark.slow
def test_stage2_loads_stage1_checkpoint(coco128, tmp_path):
    from mmengine.runner import Runner

    dir1, dir2 = tmp_path / 'stage1', tmp_path / 'stage2'
    dir1.mkdir()
    dir2.mkdir()
    _, path1 = _tiny_coco128_cfg(STAGE1_COCO128, coco128, dir1)
    run_stock_train(path1, dir1)
    ckpt_path = dir1 / 'epoch_1.pth'
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=False)
    state = ckpt['state_dict']
    # EMAHook put the EMA weights in `state_dict` (raw ones under `ema_state_dict`)
    raw = {k[len('module.'):]: v for k, v in ckpt['ema_state_dict'].items()
           if k.startswith('module.')}
    assert any(not torch.equal(raw[k], state[k]) for k in state if k in raw)

    # stock tools/train.py, stage 2 from the stage-1 checkpoint: everything but the projector
    # is found in the checkpoint
    cfg2, path2 = _tiny_coco128_cfg(STAGE2_COCO128, coco128, dir2, load_from=str(ckpt_path))
    proc = run_stock_train(path2, dir2)
    log = proc.stdout + proc.stderr
    assert f'Load checkpoint from {ckpt_path}' in log
    missing = [line for line in log.splitlines() if 'missing keys in source state_dict' in line]
    assert missing, log[-3000:]
    for line in missing:  # the model's and the EMA model's load
        keys = line.split('state_dict:', 1)[1].replace(',', ' ').split()
        assert keys, line
        assert all(k.startswith('projector.') for k in keys), line
    assert 'unexpected key' not in log
    assert 'size mismatch' not in log
    assert osp.isfile(dir2 / 'epoch_1.pth')
    assert 'multi-label/mAP' in log
    assert 'multi-label/CF1' in log
    after = torch.load(dir2 / 'epoch_1.pth', map_location='cpu', weights_only=False)
    assert any(k.startswith('projector.') for k in after['state_dict'])

    # the runner's load_from: the loaded weights equal the checkpoint's
    cfg2.work_dir = str(tmp_path / 'runner')
    cfg2.custom_hooks = []  # EMAHook's load hook needs its before_run, which is not run here
    runner = Runner.from_cfg(cfg2)
    runner._init_model_weights()
    runner.load_or_resume()
    model = runner.model
    assert isinstance(model, MulConClassifier)
    loaded = model.state_dict()
    assert set(state) == {k for k in loaded if not k.startswith('projector.')}
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key
