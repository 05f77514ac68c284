# Copyright (c) mlcl_plugin authors. All rights reserved.
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import mlcl_plugin  # noqa: F401
from mlcl_plugin.engine.runner import NoReplayIterBasedTrainLoop


class _CountingDataset(Dataset):
    reads = 0

    def __len__(self):
        return 16

    def __getitem__(self, i):
        type(self).reads += 1
        return dict(inputs=torch.full((3,), i / 16), target=torch.tensor(float(i % 2)))


class _Model(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 1)

    def forward(self, inputs, target, mode='loss'):
        out = self.fc(inputs).squeeze(1)
        return dict(loss=((out - target) ** 2).mean())


def _runner(work_dir, max_iters, loop_type, resume):
    torch.manual_seed(0)  # same initial weights for every runner
    return Runner(
        model=_Model(),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=_CountingDataset(), batch_size=2, num_workers=0,
                              sampler=dict(type='InfiniteSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(type=loop_type, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4),
                           logger=dict(type='LoggerHook', interval=1)),
        resume=resume,
        default_scope='mmpretrain',
        randomness=dict(seed=0),
        experiment_name=f'{loop_type}_{max_iters}_{resume}')


@pytest.mark.parametrize(('loop_type', 'reads_per_resumed_run'), [
    ('IterBasedTrainLoop', 2 * 10),  # the stock loop re-reads the 8 trained batches
    ('NoReplayIterBasedTrainLoop', 2 * 2),  # ours reads only the 2 new batches (+0 replay)
])
def test_resume_reads_only_new_batches(tmp_path, loop_type, reads_per_resumed_run):
    runner = _runner(tmp_path, 8, loop_type, resume=False)
    runner.train()
    trained = runner.model.fc.weight.detach().clone()
    assert (tmp_path / 'iter_8.pth').is_file()

    resumed = _runner(tmp_path, 10, loop_type, resume=True)
    assert isinstance(resumed.train_loop, NoReplayIterBasedTrainLoop) == (
        loop_type == 'NoReplayIterBasedTrainLoop')
    _CountingDataset.reads = 0
    # the model comes back from the checkpoint before any new step
    resumed.load_or_resume()
    assert resumed.iter == 8
    torch.testing.assert_close(resumed.model.fc.weight, trained)
    resumed._has_loaded = True  # already resumed above: train() must not load again
    resumed.train()
    assert resumed.iter == 10
    # a default DataLoader prefetches nothing with num_workers=0: reads are exact
    assert _CountingDataset.reads == reads_per_resumed_run
    assert not torch.equal(resumed.model.fc.weight, trained)


def test_without_resume_it_is_the_stock_loop(tmp_path):
    ours = _runner(tmp_path / 'a', 5, 'NoReplayIterBasedTrainLoop', resume=False)
    ours.train()
    stock = _runner(tmp_path / 'b', 5, 'IterBasedTrainLoop', resume=False)
    stock.train()
    torch.testing.assert_close(ours.model.fc.weight, stock.model.fc.weight)


def test_by_epoch_rejected(tmp_path):
    with pytest.raises(ValueError, match='by_epoch must be False'):
        NoReplayIterBasedTrainLoop(runner=None, dataloader=None, max_iters=3, by_epoch=True)
