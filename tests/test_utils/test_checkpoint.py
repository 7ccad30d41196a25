"""mmengine's checkpoints load under torch's weights-only default; other objects stay refused."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmgeneralist  # noqa: F401  (allow-lists mmengine's types)


def test_message_hub_state_loads_weights_only(tmp_path):
    hub = MessageHub.get_instance('test_ckpt')
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_scalar('train/loss', 0.25)
    hub.update_info('iter', np.int64(7))
    ckpt = dict(meta=dict(seed=np.int64(0), iter=7), message_hub=hub.state_dict(),
                state_dict=dict(w=torch.ones(2)), arr=np.arange(3, dtype=np.float32))
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(0.375)
    assert loaded['arr'].tolist() == [0.0, 1.0, 2.0]
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


class NotAllowed:
    pass


def test_unknown_classes_are_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'obj': NotAllowed()}, path)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        torch.load(path, weights_only=True)


def test_getattr_is_allowed_only_for_history_buffer_methods(tmp_path):
    class Evil:
        def __reduce__(self):  # the real getattr would hand out any attribute
            return getattr, (HistoryBuffer, '__init__')

    path = tmp_path / 'evil_getattr.pth'
    torch.save({'obj': Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
