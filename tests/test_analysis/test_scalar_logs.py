# Copyright (c) mlcl_plugin authors. All rights reserved.
"""mmengine scalar logs: train / val split, resumed runs, epochs on the x axis."""
import numpy as np
import pytest

from mlcl_plugin.analysis.scalar_logs import find_scalar_logs, load_run_log, resolve_metric
from tests.analysis_helpers import epoch_records, write_scalars


def test_resumed_run_with_truncated_tail(tmp_path):
    work = str(tmp_path / 'run')
    write_scalars(work, '20260101_000000', epoch_records([1, 2]))
    # the resumed run repeats epoch 2 (a later record replaces it) and is still writing
    later = epoch_records([2, 3], loss0=2.0)
    write_scalars(work, '20260101_010000', later, tail='{"lr": 0.1, "lo')
    (tmp_path / 'run' / 'test_test' / '20260101_020000' / 'vis_data').mkdir(parents=True)
    assert len(find_scalar_logs(work)) == 2
    with pytest.warns(UserWarning, match='truncated'):
        log = load_run_log(work)
    assert log.unit == 'epoch'
    np.testing.assert_allclose(log.train['step'], [2, 4, 6, 8, 10, 12])
    np.testing.assert_allclose(log.train_x, [0.5, 1, 1.5, 2, 2.5, 3])
    np.testing.assert_allclose(log.train['loss'][2:], [2.0 / 6, 2.0 / 8, 2.0 / 10, 2.0 / 12])
    np.testing.assert_allclose(log.val_x, [1, 2, 3])
    assert resolve_metric(log, 'mAP') == 'multi-label/mAP'
    assert resolve_metric(log, 'nothing') is None
    assert log.val_metrics() == ['multi-label/mAP']
    assert log.loss_keys() == ['loss']


def test_bad_logs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        load_run_log(str(tmp_path / 'nowhere'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        load_run_log(str(tmp_path / 'empty'))
    path = write_scalars(str(tmp_path / 'bad'), 't', [],
                         tail='{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(ValueError, match='line 2'):
        load_run_log(path)
