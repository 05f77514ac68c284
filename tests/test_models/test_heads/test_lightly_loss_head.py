# Copyright (c) mlcl_plugin authors. All rights reserved.
"""LightlyLossHead: every wrapped Lightly loss gives Lightly's own value and gradient; a Lightly
memory bank is the plugin's LabelMemoryBank (persistent, checked); the head works inside
MultiLabelMoCo through the head contract (also on 2 gloo processes) and inside mmpretrain's
stock two-view algorithms; bad configs and a missing lightly give clear errors."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mlcl_plugin.models import LabelMemoryBank, LightlyLossHead, MultiLabelMoCo
from mlcl_plugin.models.heads.lightly_loss_head import SUPPORTED_LOSSES, LightlyMemoryBank
from tests.test_models.test_selfsup.moco_fixtures import TinyBackbone, TinyNeck, make_batch

lightly_loss = pytest.importorskip('lightly.loss')

DIM = 8
# (type, kwargs): one entry at least for every supported loss (checked below)
LOSS_CASES = [
    ('NTXentLoss', dict(temperature=0.2)),
    ('NTXentLoss', dict(temperature=0.2, memory_bank_size=(16, DIM))),
    ('DCLLoss', dict(temperature=0.1)),
    ('DCLWLoss', dict(temperature=0.1, sigma=0.5)),
    ('BarlowTwinsLoss', dict(lambda_param=5e-3)),
    ('VICRegLoss', dict(lambda_param=10.0, mu_param=20.0)),
    ('NegativeCosineSimilarity', dict()),
    ('TiCoLoss', dict(beta=0.8, rho=4.0)),
    ('DirectCLRLoss', dict(loss_dim=4, temperature=0.3)),
    ('MACLLoss', dict(temperature=0.2)),
    ('EMPSSLLoss', dict(tcr_eps=0.3)),
    ('FroSSLLoss', dict(invariance_weight=2.0)),
]


def test_every_supported_loss_is_checked():
    assert {name for name, _ in LOSS_CASES} == set(SUPPORTED_LOSSES)


@pytest.mark.filterwarnings('ignore::UserWarning')  # DCLWLoss: torch.tensor(tensor) in lightly
@pytest.mark.parametrize(('name', 'kwargs'), LOSS_CASES,
                         ids=[f'{n}-{i}' for i, (n, _) in enumerate(LOSS_CASES)])
def test_same_value_and_gradient_as_lightly(name, kwargs):
    torch.manual_seed(3)  # NTXent's memory bank starts from random vectors
    head = MODELS.build(dict(type='LightlyLossHead', loss=dict(type=name, **kwargs),
                             loss_weight=0.5))
    torch.manual_seed(3)
    direct = getattr(lightly_loss, name)(**kwargs)
    if 'memory_bank_size' in kwargs:  # the same initial random bank in both
        direct.memory_bank.bank.copy_(head.loss_module.memory_bank.queue.keys)
    g = torch.Generator().manual_seed(0)
    for _ in range(2):  # twice: stateful losses (memory bank, TiCo covariance) must agree too
        a, b = torch.randn(2, 6, DIM, generator=g)
        a0 = a.clone().requires_grad_()
        a1 = a.clone().requires_grad_()
        out = head.loss(a0, b)
        ref = direct([a1, b]) if name in ('EMPSSLLoss', 'FroSSLLoss') else direct(a1, b)
        torch.testing.assert_close(out, 0.5 * ref)
        out.backward()
        (0.5 * ref).backward()
        torch.testing.assert_close(a0.grad, a1.grad)
        assert torch.isfinite(out)


def test_memory_bank_is_the_plugin_queue_and_updates():
    head = LightlyLossHead(loss=dict(type='NTXentLoss', memory_bank_size=[16, DIM]))
    bank = head.loss_module.memory_bank
    assert isinstance(bank, LightlyMemoryBank)
    assert isinstance(bank.queue, LabelMemoryBank)
    assert bank.queue.mode == 'every_slot'
    assert bank.size == (16, DIM)
    assert bank.queue.size == (16, DIM)
    before = bank.queue.keys.clone()
    head.loss(torch.randn(4, DIM, requires_grad=True), torch.randn(4, DIM))
    assert bank.queue._ptr == 4
    assert bank.queue._filled == 4
    assert not torch.equal(bank.queue.keys[:4], before[:4])
    torch.testing.assert_close(bank.queue.keys[4:], before[4:])
    # no update without gradient (Lightly's rule: evaluation leaves the bank alone)
    head.loss(torch.randn(4, DIM), torch.randn(4, DIM))
    assert bank.queue._ptr == 4
    # a disabled bank (size 0) stays Lightly's no-op
    plain = LightlyLossHead(loss=dict(type='NTXentLoss'))
    assert not isinstance(plain.loss_module.memory_bank, LightlyMemoryBank)


def test_memory_bank_is_checkpointed_and_checked():
    torch.manual_seed(0)
    head = LightlyLossHead(loss=dict(type='NTXentLoss', memory_bank_size=(8, DIM)))
    for _ in range(3):
        head.loss(torch.randn(4, DIM, requires_grad=True), torch.randn(4, DIM))
    state = head.state_dict()
    prefix = 'loss_module.memory_bank.queue.'
    assert {prefix + n for n in ('keys', 'labels', 'ptr', 'filled')} <= set(state)
    torch.manual_seed(1)
    resumed = LightlyLossHead(loss=dict(type='NTXentLoss', memory_bank_size=(8, DIM)))
    resumed.load_state_dict(state, strict=True)
    a, b = torch.randn(4, DIM, requires_grad=True), torch.randn(4, DIM)
    torch.testing.assert_close(resumed.loss(a, b), head.loss(a, b))
    # a checkpoint written while the bank was Lightly's (not persistent) still loads
    old = {k: v for k, v in state.items() if not k.startswith(prefix)}
    fresh = LightlyLossHead(loss=dict(type='NTXentLoss', memory_bank_size=(8, DIM)))
    before = fresh.loss_module.memory_bank.queue.keys.clone()
    fresh.load_state_dict(old, strict=True)
    torch.testing.assert_close(fresh.loss_module.memory_bank.queue.keys, before)
    # a NaN key never enters the bank
    bad = torch.randn(4, DIM)
    bad[1, 0] = float('nan')
    with pytest.raises(FloatingPointError, match=r'LightlyLossHead: 1 of the 4 keys'):
        head.loss(torch.randn(4, DIM, requires_grad=True), bad)
    assert torch.isfinite(head.loss_module.memory_bank.queue.keys).all()


def test_predictor_and_detach_target():
    torch.manual_seed(0)
    predictor = dict(type='NonLinearNeck', in_channels=DIM, hid_channels=4, out_channels=DIM,
                     with_avg_pool=False, with_last_bn=False, with_last_bias=True)
    head = LightlyLossHead(loss=dict(type='NegativeCosineSimilarity'), predictor=predictor,
                           detach_target=True)
    a = torch.randn(6, DIM, requires_grad=True)
    b = torch.randn(6, DIM, requires_grad=True)
    out = head.loss(a, b)
    pred = head.predictor([a])[0]
    torch.testing.assert_close(out, -F.cosine_similarity(pred, b).mean())
    out.backward()
    assert a.grad is not None
    assert b.grad is None
    assert any(p.grad is not None for p in head.predictor.parameters())

    plain = LightlyLossHead(loss=dict(type='NegativeCosineSimilarity'))
    b.grad = None
    plain.loss(a, b).backward()
    assert b.grad is not None


def test_errors_list_available_losses_and_arguments():
    with pytest.raises(ValueError, match='NTXentLoss.*DCLLoss|DCLLoss.*NTXentLoss') as err:
        LightlyLossHead(loss=dict(type='NTXentLos'))
    assert "'NTXentLos' is not a lightly.loss class" in str(err.value)
    with pytest.raises(ValueError, match="'DINOLoss' does not take two projected views"):
        LightlyLossHead(loss=dict(type='DINOLoss'))
    with pytest.raises(ValueError, match=r'accepts: temperature=0\.5, memory_bank_size=0'):
        LightlyLossHead(loss=dict(type='NTXentLoss', temp=0.2))
    with pytest.raises(ValueError, match='must be a dict with a `type`'):
        LightlyLossHead(loss=dict(temperature=0.2))
    # through the registry, as a config builds it
    with pytest.raises(ValueError, match='available two-view losses'):
        MODELS.build(dict(type='LightlyLossHead', loss=dict(type='Nope')))
    # Lightly's own validation still applies
    with pytest.raises(ValueError, match='Illegal temperature'):
        LightlyLossHead(loss=dict(type='NTXentLoss', temperature=0.0))


def test_built_module_is_used_as_is():
    loss = lightly_loss.DCLLoss(weight_fn=lambda a, b: torch.ones(a.shape[0]))
    assert LightlyLossHead(loss=loss).loss_module is loss


def test_without_lightly_the_head_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'lightly', None)
    monkeypatch.setitem(sys.modules, 'lightly.loss', None)
    with pytest.raises(ImportError, match=r'pip install lightly.*mlcl_plugin\[lightly\]'):
        MODELS.build(dict(type='LightlyLossHead', loss=dict(type='NTXentLoss')))


def test_plugin_imports_without_lightly():
    code = (
        'import sys\n'
        "sys.modules['lightly'] = None  # any `import lightly...` now raises ImportError\n"
        'import mlcl_plugin\n'
        'from mmpretrain.registry import MODELS\n'
        "assert MODELS.get('LightlyLossHead') is not None\n"
        "assert MODELS.get('LabelMemoryBank') is not None\n"
        'try:\n'
        "    MODELS.build(dict(type='LightlyLossHead', loss=dict(type='NTXentLoss')))\n"
        'except ImportError as err:\n'
        "    assert 'pip install lightly' in str(err), err\n"
        "    print('OK')\n")
    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    proc = subprocess.run([sys.executable, '-c', code], cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith('OK')


# --------------------------------------------------------------------------------------------
# Inside MultiLabelMoCo


def _build_mlmoco(loss, queue_len=16, seed=0):
    torch.manual_seed(seed)
    return MultiLabelMoCo(
        backbone=TinyBackbone(), neck=TinyNeck(), head=dict(type='LightlyLossHead', loss=loss),
        num_classes=4, queue_len=queue_len, feat_dim=5, momentum=0.1, queue_mode='always')


def _views_of(model, views):
    """What MultiLabelMoCo feeds its head: normalised queries and this step's own keys."""
    with torch.no_grad():
        q = F.normalize(model.neck(model.backbone(views[0]))[0], dim=1)
        k = F.normalize(model.encoder_k(views[1])[0], dim=1)
    return q, k


@pytest.mark.parametrize('loss', [dict(type='DCLLoss', temperature=0.2),
                                  dict(type='NTXentLoss', temperature=0.2,
                                       memory_bank_size=(8, 5))])
def test_in_multilabel_moco_uses_query_and_own_keys(loss):
    model = _build_mlmoco(loss)
    torch.manual_seed(0)
    direct = getattr(lightly_loss, loss['type'])(
        **{k: v for k, v in loss.items() if k != 'type'})
    if loss.get('memory_bank_size'):  # the same initial random bank in both
        direct.memory_bank.bank.copy_(model.head.loss_module.memory_bank.queue.keys)
    for step in range(3):  # from step 1 on the reference set also holds the label queue
        views, samples = make_batch(step, 4)
        out = model.loss(views, samples)
        assert out['queue_used'] == min(4 * step, 16)
        q, k = _views_of(model, views)
        expected = direct(q.requires_grad_(), k)
        torch.testing.assert_close(out['loss'], expected)
        out['loss'].backward()
        assert model.backbone.conv.weight.grad is not None


def _ddp_worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    try:
        model = _build_mlmoco(dict(type='NegativeCosineSimilarity'))
        results = []
        for step in range(2):
            views, samples = make_batch(step, 4 * world)
            part = slice(rank * 4, (rank + 1) * 4)
            views, samples = [v[part] for v in views], samples[part]
            out = model.loss(views, samples)['loss'].detach()
            q, k = _views_of(model, views)
            results.append((out, -(q * k).sum(1).mean()))
        torch.save(results, osp.join(out_dir, f'rank{rank}.pth'))
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_in_multilabel_moco_each_rank_takes_its_own_keys(tmp_path):
    world = 2
    mp.spawn(_ddp_worker, args=(world, str(tmp_path / 'init'), str(tmp_path)), nprocs=world,
             join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pth') for r in range(world)]
    for results in ranks:
        for out, expected in results:
            torch.testing.assert_close(out, expected)
    assert not torch.allclose(ranks[0][0][0], ranks[1][0][0])  # the ranks had different data


def test_plugin_call_takes_the_pair_keys_and_returns_a_dict():
    head = LightlyLossHead(loss=dict(type='NegativeCosineSimilarity'))
    query, keys = torch.randn(4, 5), torch.randn(7, 5)
    with pytest.raises(ValueError, match='must start with the 4 own keys'):
        head.loss(query, keys[:3], torch.zeros(4, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match='one row per query'):
        head.loss(query, keys, torch.zeros(4, 2), torch.zeros(7, 2), pair_index=torch.arange(3))
    # the contract's default: the reference set starts with the own keys
    out = head.loss(query, keys, torch.zeros(4, 2), torch.zeros(7, 2))
    torch.testing.assert_close(out['loss'], head.loss(query, keys[:4]))
    with pytest.raises(ValueError, match='takes no self_index'):
        head.loss(query, keys, torch.zeros(4, 2), torch.zeros(7, 2),
                  pair_index=torch.arange(4), self_index=torch.arange(4))
    pair = torch.tensor([6, 2, 0, 3])
    out = head.loss(query, keys, torch.zeros(4, 2), torch.zeros(7, 2), pair_index=pair)
    assert set(out) == {'loss'}
    torch.testing.assert_close(out['loss'], head.loss(query, keys[pair]))  # the stock call


# --------------------------------------------------------------------------------------------
# Inside mmpretrain's stock algorithms, through config alone

PREDICTOR = dict(type='NonLinearNeck', in_channels=5, hid_channels=4, out_channels=5,
                 with_avg_pool=False, with_last_bn=False, with_last_bias=True)


def _stock(type_, head, seed=0, **kwargs):
    torch.manual_seed(seed)
    return MODELS.build(dict(type=type_, backbone=TinyBackbone(), neck=TinyNeck(), head=head,
                             **kwargs))


def _batch(seed=0, size=6):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(size, 3, 6, 6, generator=g) for _ in range(2)], [DataSample()] * size


def _proj(model, img):
    return model.neck(model.backbone(img))[0]


def test_stock_barlowtwins_carries_a_simclr_style_loss():
    head = dict(type='LightlyLossHead', loss=dict(type='NTXentLoss', temperature=0.3))
    model = _stock('BarlowTwins', head)
    views, samples = _batch()
    out = model.loss(views, samples)['loss']
    expected = lightly_loss.NTXentLoss(temperature=0.3)(_proj(model, views[0]),
                                                        _proj(model, views[1]))
    torch.testing.assert_close(out, expected)


def test_stock_simsiam_equals_its_latent_predict_head():
    ours = _stock('SimSiam', dict(type='LightlyLossHead', predictor=PREDICTOR, detach_target=True,
                                  loss=dict(type='NegativeCosineSimilarity')))
    stock = _stock('SimSiam', dict(type='LatentPredictHead', predictor=PREDICTOR,
                                   loss=dict(type='CosineSimilarityLoss')))
    stock.load_state_dict(ours.state_dict())
    views, samples = _batch()
    out, ref = ours.loss(views, samples)['loss'], stock.loss(views, samples)['loss']
    torch.testing.assert_close(out, ref)
    out.backward()
    ref.backward()
    for (name, p), q in zip(ours.named_parameters(), stock.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


@pytest.mark.parametrize(('type_', 'kwargs'), [('BYOL', dict(base_momentum=0.1)),
                                               ('MoCoV3', dict(base_momentum=0.1))])
def test_stock_momentum_algorithms(type_, kwargs):
    loss = dict(type='NegativeCosineSimilarity') if type_ == 'BYOL' else dict(
        type='NTXentLoss', temperature=0.2)
    model = _stock(type_, dict(type='LightlyLossHead', predictor=PREDICTOR, loss=loss),
                   **kwargs)
    views, samples = _batch()
    out = model.loss(views, samples)['loss']
    target_net = model.target_net if type_ == 'BYOL' else model.momentum_encoder
    with torch.no_grad():  # the momentum update happened inside the step
        t1, t2 = target_net(views[0])[0], target_net(views[1])[0]
    pred1, pred2 = (model.head.predictor([_proj(model, v)])[0] for v in views)
    fn = model.head.loss_module
    if type_ == 'BYOL':
        expected = 2. * (fn(pred1, t2) + fn(pred2, t1))
    else:
        expected = fn(pred1, t2) + fn(pred2, t1)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize(('type_', 'kwargs'), [('MoCo', dict(queue_len=12, feat_dim=5)),
                                               ('SimCLR', dict())])
def test_stock_moco_and_simclr_pass_logits_and_are_refused(type_, kwargs):
    model = _stock(type_, dict(type='LightlyLossHead', loss=dict(type='NTXentLoss')), **kwargs)
    views, samples = _batch()
    with pytest.raises(ValueError, match="mmpretrain's MoCo and SimCLR pass similarity logits"):
        model.loss(views, samples)

