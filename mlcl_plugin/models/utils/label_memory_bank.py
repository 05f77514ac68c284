# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The plugin's one queue: keys stored together with their labels (multi-hot or integer ids).

Lightly's ``MemoryBankModule`` keeps keys only (its ``labels`` argument is documented "should
always be None"), so supervised contrastive losses cannot take positives from it.
:class:`LabelMemoryBank` is the label-aware queue of every algorithm of the plugin
(``MultiLabelMoCo``: multi-hot labels; ``BlockMoCo``: image ids) and of the Lightly integration
(``LightlyLossHead`` puts it behind Lightly's memory-bank call), and a plain ``nn.Module`` for
hand-written training loops. One object owns the storage, the ring pointer, the cross-rank
gathering, the state dict and its resume checks, and the refusal of keys or labels that would
poison the queue.
"""
import logging
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmpretrain.registry import MODELS
from torch import nn

from ..losses.contrastive_core import LabelSums
from .gather import gather_no_grad, gather_with_grad

# --------------------------------------------------------------------------------------------
# Ring-buffer helpers of LabelMemoryBank.


def _write_ring(buffers: Sequence[torch.Tensor], rows: Sequence[torch.Tensor], ptr: int) -> int:
    """Write ``N`` new rows into ring buffers of ``K`` slots at ``ptr``, wrapping around.

    Row ``i`` lands in slot ``(ptr + i) % K``; with ``N > K`` only the newest ``K`` rows are
    written. Any ``N`` works (a short last batch, another world size after a resume), so the
    buffers always hold the most recent keys in FIFO order, oldest at the returned pointer.
    At most two slice copies per buffer and no index tensor: host arithmetic only.

    Args:
        buffers (list[Tensor]): buffers with the same first dimension ``K``.
        rows (list[Tensor]): one ``N x ...`` tensor per buffer (detached and cast here).
        ptr (int): slot of the oldest entry (where the next row goes).

    Returns:
        int: the new pointer, ``(ptr + N) % K``.
    """
    cap, num = buffers[0].shape[0], rows[0].shape[0]
    first = max(num - cap, 0)  # rows that a later row of this batch would overwrite anyway
    start = (ptr + first) % cap
    count = num - first
    head = min(count, cap - start)  # rows before the end of the buffer
    for buf, new in zip(buffers, rows):
        new = new[first:].detach().to(buf.dtype)
        buf[start:start + head] = new[:head]
        if head < count:
            buf[:count - head] = new[head:]
    return (ptr + num) % cap


def _ring_slots(ptr: int, num: int, cap: int) -> Tuple[int, torch.Tensor]:
    """Which rows of an ``N``-row batch :func:`_write_ring` writes, and into which slots.

    Returns:
        tuple[int, Tensor]: the first written row (``max(N - K, 0)``) and the slots of the
        written rows, in order.
    """
    first = max(num - cap, 0)
    return first, (ptr + first + torch.arange(num - first)) % cap


def _ring_order(ptr: int, filled: int, cap: int) -> torch.Tensor:
    """Slots of the written entries, oldest first."""
    if filled < cap:
        return torch.arange(filled)
    return torch.cat([torch.arange(ptr, cap), torch.arange(0, ptr)])


def _label_pairs(labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(rows, classes)`` of the nonzero entries of ``N x C`` labels, as ``nonzero`` gives
    them: from the stored entries of sparse COO labels (no pass over ``N x C``), else one
    ``nonzero``."""
    if not labels.is_sparse:
        return labels.nonzero(as_tuple=True)
    labels = labels.coalesce()
    idx = labels.indices()[:, labels.values() != 0]  # a stored 0 is no label
    return idx[0], idx[1]


def _dense_labels(pairs: Tuple[torch.Tensor, torch.Tensor], shape: Tuple[int, int],
                  dtype: torch.dtype) -> torch.Tensor:
    """``N x C`` 0/1 labels with ones at ``pairs`` (rows, classes)."""
    out = torch.zeros(shape, dtype=dtype, device=pairs[0].device)
    out[pairs] = 1
    return out


def _fit_queue_state(state_dict: Dict[str, torch.Tensor], full: Sequence[str],
                     shown: Sequence[str], buffers: Sequence[torch.Tensor], owner: str,
                     options: Sequence[str]) -> Dict[str, torch.Tensor]:
    """Make a checkpoint's queue fit this module's queue, or explain why it cannot.

    The queue is a FIFO of the most recent keys, so a checkpoint written with another queue
    length maps exactly onto this one: its entries are taken oldest to newest, the newest
    ``min(written, K)`` are kept and written from slot 0 (pointer and fill count to match);
    the change is logged as a warning. A different key width or label width (classes) cannot
    be mapped and raises. Counters that do not describe a ring buffer (a corrupt or edited
    checkpoint) raise too, so never-written slots are never read as keys.

    Args:
        state_dict (dict): the state dict being loaded (not modified).
        full (list[str]): the four entries in it: keys, labels, pointer, fill count.
        shown (list[str]): their names in the checkpoint file, for messages.
        buffers (list[Tensor]): this module's key and label buffers (shapes to fit).
        owner (str): the module's name for messages.
        options (list[str]): the constructor options that set ``K``, the key width and the
            label width, for messages (e.g. ``('queue_len', 'feat_dim', 'num_classes')``).

    Returns:
        dict: ``state_dict`` itself when it fits, else a shallow copy with the remapped queue.

    Raises:
        ValueError: the key or label widths differ, or the counters are inconsistent.
    """
    if any(key not in state_dict for key in full):
        return state_dict  # torch reports the missing keys (strict) or keeps the fresh queue
    old_keys, old_labels = state_dict[full[0]], state_dict[full[1]]
    keys_buf, labels_buf = buffers
    len_opt, width_opt, labels_opt = options
    old_len = old_keys.shape[0]
    drop = (f'to start a new, empty queue with these weights instead, delete the entries '
            f'{", ".join(shown)} from the state_dict of the checkpoint')
    if old_keys.dim() != 2 or old_keys.shape[1:] != keys_buf.shape[1:]:
        raise ValueError(
            f'{owner}: checkpoint entry {shown[0]} holds keys of shape {tuple(old_keys.shape)} '
            f'but the queue of this model is {tuple(keys_buf.shape)}: {width_opt} changed and '
            f'keys of another width cannot be mapped. To resume, set {width_opt} as in the '
            f'checkpoint; {drop}')
    if old_labels.shape[0] != old_len or old_labels.shape[1:] != labels_buf.shape[1:]:
        raise ValueError(
            f'{owner}: checkpoint entry {shown[1]} has shape {tuple(old_labels.shape)} but '
            f'this model stores labels of shape {tuple(labels_buf.shape)} ({labels_opt} '
            f'changed): queued labels cannot be mapped to other classes. To resume, set '
            f'{labels_opt} as in the checkpoint; {drop}')
    ptr, filled = int(state_dict[full[2]]), int(state_dict[full[3]])
    if not (0 <= ptr < old_len and 0 <= filled <= old_len
            and (filled == old_len or ptr == filled)):
        raise ValueError(
            f'{owner}: checkpoint entries {shown[2]}={ptr} and {shown[3]}={filled} do not '
            f'describe a queue of {old_len} entries (expected 0 <= pointer < {old_len}, '
            f'fill count <= {old_len}, pointer = fill count until the queue is full): the '
            f'checkpoint is corrupt or was edited; {drop}')
    new_len = keys_buf.shape[0]
    if old_len == new_len:
        return state_dict
    order = _ring_order(ptr, filled, old_len)
    keep = order[max(len(order) - new_len, 0):]  # the newest entries that fit
    kept = len(keep)
    new_keys, new_labels = keys_buf.detach().clone(), labels_buf.detach().clone()
    new_keys[:kept] = old_keys[keep].to(new_keys.dtype)
    new_labels[:kept] = old_labels[keep].to(new_labels.dtype)
    out = dict(state_dict)
    out[full[0]], out[full[1]] = new_keys, new_labels
    out[full[2]] = torch.tensor(kept % new_len, dtype=state_dict[full[2]].dtype)
    out[full[3]] = torch.tensor(kept, dtype=state_dict[full[3]].dtype)
    print_log(
        f'{owner}: {len_opt} changed from {old_len} (checkpoint) to {new_len}: the queue was '
        f'remapped in order, keeping the {kept} most recent of its {filled} written keys '
        f'(now {kept}/{new_len} filled)', logger='current', level=logging.WARNING)
    return out


def _check_before_enqueue(keys: torch.Tensor, labels: torch.Tensor, owner: str,
                         world_size: int = 1, binary_labels: bool = True,
                         describe_row: Optional[Callable[[int], str]] = None,
                         nonzero: Optional[Tuple[torch.Tensor, torch.Tensor]] = None) -> None:
    """Refuse to write non-finite keys or non-binary labels into a queue.

    The queue outlives the step: one NaN key written into it makes every later loss NaN, and
    a soft label (0.9) stored in the uint8 label queue silently becomes 0. Both checks are
    folded into **one** host sync (a single boolean read), taken once per training step before
    anything is written; the messages are only built when a check fails. Callers pass the
    *gathered* batch, so every rank sees the same rows and raises together (no rank is left
    waiting in a collective).

    Args:
        keys (Tensor): ``N x D`` keys about to be enqueued (``N = G*B``, rank-major).
        labels (Tensor): ``N x C`` multi-hot labels, dense or sparse COO (or ``(N,)`` ids
            with ``binary_labels=False``).
        owner (str): the module's name for messages.
        world_size (int): ``G``, to name the rank and sample of a bad row. Defaults to 1.
        binary_labels (bool): also require labels in {0, 1}. Defaults to True.
        describe_row (callable, optional): names row ``r`` of the gathered batch in messages;
            defaults to ``'rank g sample i'`` (``'sample i'`` on one process).
        nonzero (tuple[Tensor, Tensor], optional): ``labels.nonzero(as_tuple=True)`` when the
            caller has it: the label check then reads only those entries (every other entry
            is 0). Defaults to None.

    Raises:
        FloatingPointError: a key is NaN or infinite; nothing was enqueued.
        ValueError: a label is not 0 or 1 (soft targets); nothing was enqueued.
    """
    keys = keys.detach()
    bad = [~torch.isfinite(keys).all()]
    check_labels = binary_labels and labels.dtype != torch.bool
    if check_labels and labels.is_sparse:  # the stored entries only
        values = labels.coalesce().values()
        bad.append(((values != 0) & (values != 1)).any())
    elif check_labels and nonzero is not None:
        bad.append((labels[nonzero] != 1).any())
    elif check_labels:
        bad.append(((labels != 0) & (labels != 1)).any())
    if not bool(torch.stack(bad).any()):  # the one host sync
        return
    per_rank = max(keys.shape[0] // max(world_size, 1), 1)
    if describe_row is None:
        def describe_row(r):
            if world_size > 1:
                return f'rank {r // per_rank} sample {r % per_rank}'
            return f'sample {r}'

    def where(rows):
        names = ', '.join(describe_row(r) for r in rows[:5])
        return names + (f' and {len(rows) - 5} more' if len(rows) > 5 else '')

    bad_rows = (~torch.isfinite(keys)).flatten(1).any(dim=1).nonzero().flatten().tolist()
    if bad_rows:
        raise FloatingPointError(
            f'{owner}: {len(bad_rows)} of the {keys.shape[0]} keys of this step are NaN or '
            f'infinite ({where(bad_rows)}); they were NOT enqueued, so the queue '
            '(and every checkpoint written before) is unaffected. The key encoder produced '
            'non-finite features: check the input data of these samples and the losses of '
            'the previous iterations (learning rate, mixed precision)')
    if labels.is_sparse:
        labels = labels.to_dense()
    soft = (labels != 0) & (labels != 1)
    rows = soft.reshape(len(soft), -1).any(dim=1).nonzero().flatten().tolist()
    row_soft = soft[rows[0]].reshape(-1)
    values = [float(f'{v:.4g}')  # short, readable values
              for v in labels[rows[0]].reshape(-1)[row_soft].unique()[:5].tolist()]
    classes = row_soft.nonzero().flatten()[:5].tolist()
    raise ValueError(
        f'{owner}: the label queue stores binary multi-hot labels (0/1), but '
        f'{where(rows)} of this step {"have" if len(rows) > 1 else "has"} non-binary label '
        f'values, e.g. {values} for classes {classes} of {where(rows[:1])}: soft targets '
        '(label smoothing, Mixup/CutMix, scores in gt_score) would be truncated in the uint8 '
        'queue. Binarise the targets (e.g. gt_score > 0.5) or remove label smoothing and '
        'batch augmentation from the pretraining data preprocessor; nothing was enqueued')


class _RenameState:
    """Moves state-dict entries from one set of names to another (a state-dict hook).

    A class rather than a closure so that models stay picklable and deep-copyable.
    """

    def __init__(self, src: Sequence[str], dst: Sequence[str]) -> None:
        self.src, self.dst = tuple(src), tuple(dst)

    def __call__(self, module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
        for a, b in zip(self.src, self.dst):
            if prefix + a in state_dict:
                state_dict[prefix + b] = state_dict.pop(prefix + a)


@MODELS.register_module()
class LabelMemoryBank(nn.Module):
    """Ring buffer of ``K`` keys (``K x D``) and their labels (``K x C`` multi-hot or ``K`` ids).

    One call, ``ref_keys, ref_labels = bank(keys, labels)``:

    1. gathers this step's keys and labels from every rank (rank order), ``N = G*B`` rows; the
       keys keep their autograd graph through a gradient-carrying all-gather when they require
       grad (SimCLR-style keys from the trained encoder), the labels never need one;
    2. returns the reference set: the gathered batch followed by the bank entries of ``mode``
       as they were *before* this call (``N + V`` rows), ready for
       ``MulSupConLoss()(query, ref_keys, query_labels, ref_labels)``;
    3. with ``update=True``, checks and writes the gathered (detached) keys and labels at the
       pointer, wrapping around the end of the buffer.

    This is the reference set and queue update of MulSupCon (Zhang & Wu, AAAI-24, Sec. 3), so a
    hand-written loop with this bank and ``MulSupConLoss`` trains the same objective as
    ``MultiLabelMoCo``. The buffers (``keys``, ``labels``, ``ptr``, ``filled``) are persistent:
    a ``state_dict`` carries the whole queue. Host-side copies of the two counters avoid device
    syncs for the pointer arithmetic.

    Labels are either multi-hot (``num_classes=C``: a ``K x C`` uint8 buffer, values must be
    0/1) or one integer id per key (``num_classes=None``: a ``(K,)`` int64 buffer, -1 for
    never-written slots), e.g. the image ids of ``BlockMoCo`` whose positives are the views of
    the same image.

    What goes into the bank is checked, since it outlives the step (one host sync per
    ``enqueue``, both checks together): a NaN or infinite key raises ``FloatingPointError``
    and a multi-hot label other than 0/1 (soft targets: label smoothing, Mixup) raises
    ``ValueError``, naming the sample, before anything is written. A state dict saved with
    another ``K`` is remapped exactly on load (the newest entries kept, in order, with a
    warning); another key width or label width raises.

    Under DDP, each rank's loss over its own queries is a per-rank mean; for the exact loss of
    the concatenated batch use ``MulSupConLoss.loss_terms`` and divide by
    ``mlcl_plugin.models.utils.global_mean_factor(count)`` (what ``MulSupConHead`` does).

    Args:
        size (tuple[int, int]): ``(K, D)``: number of stored keys and their width (Lightly's
            ``memory_bank_size`` convention). Any ``K`` works; batches wrap around.
        num_classes (int, optional): ``C``, width of the multi-hot labels; None stores one
            integer id per key.
        gather_distributed (bool): gather keys and labels across ranks (when
            ``torch.distributed`` is initialised with more than one process). Defaults to True.
        mode (str): which bank entries a call returns after the batch: ``'full'``, all ``K``
            once all are written, none before (the MulSupCon reference); ``'always'``, the
            entries written so far; ``'every_slot'``, all ``K`` slots from the first step,
            never-written ones holding their random initial unit vectors and no label
            (Lightly's ``MemoryBankModule``, for label-free negatives). Defaults to ``'full'``.
        name (str, optional): the owner named in error messages and warnings. Defaults to
            ``'LabelMemoryBank'``.
        options (tuple[str, str, str], optional): the owner's options that set ``K``, ``D``
            and the label width, for messages. Defaults to
            ``('size[0]', 'size[1]', 'num_classes')``.

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from mlcl_plugin.models.losses import MulSupConLoss
        >>> from mlcl_plugin.models.utils import LabelMemoryBank
        >>> bank = LabelMemoryBank(size=(8, 16), num_classes=5, mode='always')
        >>> loss_fn = MulSupConLoss(temperature=0.1)
        >>> for _ in range(3):
        ...     q = F.normalize(torch.randn(4, 16), dim=1)  # B x D, from the query encoder
        ...     k = F.normalize(torch.randn(4, 16), dim=1)  # B x D, momentum keys
        ...     y = (torch.rand(4, 5) < 0.4).float()        # B x C multi-hot
        ...     ref_k, ref_y = bank(k, y)                   # (B + V) x D, (B + V) x C
        ...     loss = loss_fn(q, ref_k, y, ref_y)
        >>> ref_k.shape, bank.num_valid
        (torch.Size([12, 16]), 8)
    """

    MODES = ('full', 'always', 'every_slot')
    # names of the four persistent buffers
    STATE_NAMES = ('keys', 'labels', 'ptr', 'filled')

    def __init__(self,
                 size: Sequence[int],
                 num_classes: Optional[int],
                 gather_distributed: bool = True,
                 mode: str = 'full',
                 name: Optional[str] = None,
                 options: Optional[Sequence[str]] = None) -> None:
        super().__init__()
        size = tuple(size) if isinstance(size, (list, tuple)) else (size, )
        if (len(size) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1
                                  for s in size)):
            raise ValueError(f'size must be (num_keys, dim) with two positive ints, got {size!r}')
        if num_classes is not None and (isinstance(num_classes, bool)
                                        or not isinstance(num_classes, int) or num_classes < 1):
            raise ValueError(f'num_classes must be a positive int (multi-hot labels) or None '
                             f'(one integer id per key), got {num_classes!r}')
        if mode not in self.MODES:
            raise ValueError(f'mode must be one of {self.MODES}, got {mode!r}')
        self.size = size
        self.num_classes = num_classes
        self.gather_distributed = bool(gather_distributed)
        self.mode = mode
        self.name = name or type(self).__name__
        self.options = tuple(options or ('size[0]', 'size[1]', 'num_classes'))
        # Never-written rows are excluded by the fill count (except in 'every_slot' mode, where
        # they serve as Lightly's random initial negatives): random unit vectors, labels empty.
        self.register_buffer('keys', nn.functional.normalize(torch.randn(*size), dim=1))
        if num_classes is None:
            self.register_buffer('labels', torch.full((size[0], ), -1, dtype=torch.long))
        else:
            self.register_buffer('labels', torch.zeros(size[0], num_classes, dtype=torch.uint8))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('filled', torch.zeros((), dtype=torch.long))
        self._ptr = 0
        self._filled = 0
        # Per-class sums and counts of the stored keys (multi-hot banks, see `label_sums`):
        # derived state, rebuilt from the queue after a load, so checkpoints do not change.
        # float64 so that adding and removing keys over a long run does not drift.
        if num_classes is not None:
            self.register_buffer('class_sums', torch.zeros(num_classes, size[1],
                                                           dtype=torch.float64),
                                 persistent=False)
            self.register_buffer('class_counts', torch.zeros(num_classes, dtype=torch.float64),
                                 persistent=False)
        # maintained from the first `as_sums` call on (until then nothing pays for them)
        self._sums_ready = False
        # removal of the keys the last enqueue overwrote, not yet subtracted from the sums
        # (see forward: the sums handed to the loss must not change before it reads them)
        self._pending_removal: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
        # Where the labels of each block of slots written by a step are: start slot ->
        # (rows within the block, classes), the batch's `nonzero` kept from its enqueue, so
        # that overwriting the block later needs no pass over its B x C labels. Only blocks of
        # one size aligned on it (the steady state of a fixed batch with K a multiple of it).
        self._block_pairs: Dict[int, Tuple[torch.Tensor, torch.Tensor]] = {}
        self._block_size = 0
        self._shown_names: Optional[Tuple[str, str, Tuple[str, ...]]] = None

    def extra_repr(self) -> str:
        return (f'size={self.size}, num_classes={self.num_classes}, '
                f'gather_distributed={self.gather_distributed}, mode={self.mode!r}')

    # ---------------------------------------------------------------------------- state dict

    def save_under_owner_names(self, owner: nn.Module, names: Sequence[str]) -> None:
        """Save and load this bank's four entries under ``names`` at ``owner``'s level.

        ``owner`` holds this bank as a submodule (say ``owner.label_queue``); its state dict
        then carries ``names`` (e.g. ``queue, queue_labels, queue_ptr, queue_filled``) instead
        of ``label_queue.keys, ...``. Algorithms whose checkpoints held the queue buffers
        directly keep that layout, so checkpoints written before and after the queue became a
        component load both ways; the resume checks and error messages use these names.

        Args:
            owner (nn.Module): the module this bank is a direct child of.
            names (list[str]): four names for keys, labels, pointer and fill count.
        """
        attr = next((n for n, m in owner.named_children() if m is self), None)
        if attr is None:
            raise ValueError(f'{self.name}: register the bank as a submodule of '
                             f'{type(owner).__name__} before renaming its state')
        inner = [f'{attr}.{n}' for n in self.STATE_NAMES]
        owner.register_state_dict_post_hook(_RenameState(inner, names))
        owner.register_load_state_dict_pre_hook(_RenameState(names, inner))
        self._shown_names = (attr, tuple(names))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint written with another K is remapped, another key or label width
        # raises: without this, torch skips the mismatched queue with a warning while the
        # counters load, and never-written entries are then read as keys.
        full = [prefix + n for n in self.STATE_NAMES]
        shown = full
        if self._shown_names is not None:  # saved under the owner's names
            attr, names = self._shown_names
            owner_prefix = prefix[:len(prefix) - len(attr) - 1]
            shown = [owner_prefix + n for n in names]
        state_dict = _fit_queue_state(state_dict, full, shown, (self.keys, self.labels),
                                      self.name, self.options)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._ptr = int(self.ptr)
        self._filled = int(self.filled)
        self._sums_ready = False  # rebuilt from the loaded queue when next needed
        self._pending_removal = None
        self._block_pairs.clear()

    # ---------------------------------------------------------------------------- the queue

    @property
    def num_valid(self) -> int:
        """Number of bank entries the next call returns after the batch (see ``mode``)."""
        if self.mode == 'full':
            return self.size[0] if self._filled >= self.size[0] else 0
        if self.mode == 'always':
            return self._filled
        return self.size[0]

    def entries(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The ``V = num_valid`` bank entries the next call returns, in slot order (copies).

        Returns:
            tuple[Tensor, Tensor]: keys ``V x D`` (float32) and labels ``V x C`` (uint8) or
            ``(V,)`` (int64), detached from the buffers (a later enqueue does not change them).
        """
        valid = self.num_valid
        return self.keys[:valid].clone(), self.labels[:valid].clone()

    def gather(self, keys: torch.Tensor,
               labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Keys and labels of every rank in rank order (identity on one process).

        The keys keep their gradient (gradient-carrying all-gather) when they require grad.

        Args:
            keys (Tensor): this rank's keys, ``B x D``.
            labels (Tensor): their labels, ``B x C`` or ``(B,)``.

        Returns:
            tuple[Tensor, Tensor]: ``G*B x D`` keys and ``G*B x C`` (or ``(G*B,)``) labels.
        """
        if not self.gather_distributed or get_world_size() == 1:
            return keys, labels
        all_keys = gather_with_grad(keys) if keys.requires_grad else gather_no_grad(keys)
        # gloo cannot all-gather bool tensors
        as_bool = labels.dtype == torch.bool
        all_labels = gather_no_grad(labels.to(torch.uint8) if as_bool else labels)
        return all_keys, (all_labels.bool() if as_bool else all_labels)

    def forward(self,
                keys: torch.Tensor,
                labels: torch.Tensor,
                update: bool = True,
                describe_row: Optional[Callable[[int], str]] = None,
                as_sums: bool = False
                ) -> Tuple[torch.Tensor, Union[torch.Tensor, LabelSums]]:
        """Reference set of this step, then enqueue.

        Args:
            keys (Tensor): this rank's keys, ``B x D`` (normalise them first for cosine
                similarities).
            labels (Tensor): their labels: ``B x C`` multi-hot (0/1, any dtype; other values
                are rejected by the enqueue), dense or sparse COO (with ``as_sums`` on one
                process only the stored entries are read: no pass over ``B x C``), or
                ``(B,)`` integer ids with ``num_classes=None``.
            update (bool): write the gathered batch into the bank. Defaults to True.
            describe_row (callable, optional): names row ``r`` of the gathered batch in error
                messages (default ``'rank g sample i'``, ``'sample i'`` on one process).
            as_sums (bool): return the reference labels as their per-class key sums and
                counts (:class:`~mlcl_plugin.models.losses.contrastive_core.LabelSums`,
                ``C x D`` and ``(C,)``) instead of ``(G*B + V) x C`` labels: all that
                MulSupCon's positives need. The bank's part is maintained as keys come and go
                (float64), so no step touches a ``K x C`` tensor; the batch's part costs one
                pass over its ``G*B x C`` labels and one host sync (``nonzero``). When the batch
                is enqueued and its keys need no gradient, the returned sums are the bank's own
                maintained buffers with the batch added (no ``C x D`` copy per step): they stay
                valid until the next call of this bank. Multi-hot banks only. Defaults to False.

        Returns:
            tuple[Tensor, Tensor | LabelSums]: reference keys ``(G*B + V) x D`` (dtype of
            ``keys``) and labels ``(G*B + V) x C`` or ``(G*B + V,)`` (dtype of ``labels``), or
            with ``as_sums`` their sums and counts (float64, the sums with the batch keys'
            gradient): the gathered batch, then the ``V`` bank entries of ``mode`` as
            they were before this call.

        Raises:
            FloatingPointError: a key of the gathered batch is NaN or infinite (nothing is
                written; only with ``update=True``).
            ValueError: a multi-hot label is not 0 or 1 (nothing is written).
        """
        if keys.dim() != 2 or keys.shape[1] != self.size[1]:
            raise ValueError(f'keys must be B x {self.size[1]} (bank size {self.size}), got '
                             f'{tuple(keys.shape)}')
        if self.num_classes is None:
            if labels.shape != (keys.shape[0], ) or labels.is_floating_point():
                raise ValueError(f'labels must be {keys.shape[0]} integer ids (the bank stores '
                                 f'ids: num_classes=None), got {labels.dtype} '
                                 f'{tuple(labels.shape)}')
        elif labels.shape != (keys.shape[0], self.num_classes):
            raise ValueError(f'labels must be B x C = {keys.shape[0]} x {self.num_classes} '
                             f'(multi-hot), got {tuple(labels.shape)}')
        if as_sums and self.num_classes is None:
            raise ValueError(f'{self.name}: as_sums needs multi-hot labels (num_classes=C); '
                             'this bank stores one id per key')
        if labels.is_sparse and (not as_sums or (self.gather_distributed
                                                 and get_world_size() > 1)):
            # the reference labels and the all-gather need them dense; only the sums of one
            # process read just the stored entries
            labels = labels.to_dense()
        batch_keys, batch_labels = self.gather(keys, labels)  # N x D, N x C
        valid = self.num_valid
        if valid:
            # torch.cat copies, so the in-place enqueue below cannot change the result
            ref_keys = torch.cat([batch_keys, self.keys[:valid].to(keys.dtype)])
        else:
            ref_keys = batch_keys
        nonzero = None
        folded = False
        if as_sums:
            nonzero = _label_pairs(batch_labels)  # the batch's stored labels
            rows, cls = nonzero
            # float64 like the maintained sums; the loss casts only the rows it gathers
            batch_rows = batch_keys.index_select(0, rows).to(torch.float64)
            ones = torch.ones_like(cls, dtype=torch.float64)
            queue_sums, queue_counts = self._queue_sums(empty=not valid)
            # The batch joins the queue in the enqueue below: add it to the maintained sums
            # once, now, and they are this step's reference sums as they stand (no C x D
            # copy); the enqueue then defers the removal of the keys it overwrites to the next
            # read, after the loss. A batch with gradient, one larger than the bank or a step
            # without the queue's part takes the copy.
            folded = (update and valid > 0 and not batch_keys.requires_grad
                      and batch_keys.shape[0] <= self.size[0])
            if folded:
                # nothing may enter the sums that the enqueue would refuse (a NaN key would
                # stay in them for good)
                self._check(batch_keys, batch_labels, describe_row, nonzero)
                queue_sums.index_add_(0, cls, batch_rows)
                queue_counts.index_add_(0, cls, ones)
                sums, counts = queue_sums, queue_counts
            else:
                sums = queue_sums.index_add(0, cls, batch_rows)  # C x D
                counts = queue_counts.index_add(0, cls, ones)
            ref_labels = LabelSums(sums, counts)
        elif valid:
            ref_labels = torch.cat([batch_labels, self.labels[:valid].to(labels.dtype)])
        else:
            ref_labels = batch_labels
        if update:
            self.enqueue(batch_keys, batch_labels, describe_row, nonzero=nonzero,
                         _batch_in_sums=folded)
        return ref_keys, ref_labels

    @torch.no_grad()
    def _queue_sums(self, empty: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per-class sums (``C x D``) and counts (``(C,)``) of all stored keys, float64.

        Built from the whole queue on first use (and after a load), then kept up to date by
        :meth:`enqueue`, which subtracts the overwritten keys and adds the new ones. With
        ``empty`` (no queue entry is used this step) zeros of the same shape are returned, but
        the sums are still built so that the enqueue keeps them.
        """
        pending, self._pending_removal = self._pending_removal, None
        if (pending is not None and self._sums_ready
                and pending[1].device == self.class_sums.device):
            cls, rows = pending
            self.class_sums.index_add_(0, cls, rows.to(self.class_sums.dtype), alpha=-1.0)
            self.class_counts.index_add_(0, cls, torch.full_like(
                cls, -1.0, dtype=self.class_counts.dtype))
        elif pending is not None:  # moved to another device since: rebuild from the queue
            self._sums_ready = False
        if not self._sums_ready or self.class_sums.dtype != torch.float64:
            # a module-wide .half()/.to(dtype) would have cast these buffers: rebuild them
            self.class_sums = self.class_sums.new_zeros(self.class_sums.shape,
                                                        dtype=torch.float64)
            self.class_counts = self.class_counts.new_zeros(self.class_counts.shape,
                                                            dtype=torch.float64)
            # chunks of slots keep the gathered rows bounded
            step = max(1, (1 << 22) // max(1, self.num_classes))
            for start in range(0, self.size[0], step):
                self._add_to_sums(self.keys[start:start + step],
                                  self.labels[start:start + step], 1.0)
            self._sums_ready = True
        if empty:
            return torch.zeros_like(self.class_sums), torch.zeros_like(self.class_counts)
        return self.class_sums, self.class_counts

    def _add_to_sums(self, keys: torch.Tensor, labels: torch.Tensor, sign: float,
                     nonzero: Optional[Tuple[torch.Tensor, torch.Tensor]] = None) -> None:
        """Add (``sign=1``) or remove (``sign=-1``) rows of keys from the per-class sums.

        Rows are gathered with ``index_select`` (here and in :meth:`forward`): on CPU ``x[idx]``
        takes a general advanced-indexing kernel several times slower for row gathers.
        """
        rows, cls = labels.nonzero(as_tuple=True) if nonzero is None else nonzero
        self.class_sums.index_add_(0, cls, keys.index_select(0, rows).to(torch.float64),
                                   alpha=sign)
        self.class_counts.index_add_(0, cls, torch.full_like(cls, sign, dtype=torch.float64))

    def _remember_block(self, num: int,
                        nonzero: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Keep the label positions of the ``num`` rows about to be written at the pointer
        (see ``_block_pairs``), or forget what they overwrite."""
        cap = self.size[0]
        aligned = num <= cap and cap % num == 0 and self._ptr % num == 0
        if not aligned or num != self._block_size:
            self._block_pairs.clear()
            self._block_size = num if aligned else 0
        if not aligned:
            return
        if nonzero is None or self.num_classes is None:
            self._block_pairs.pop(self._ptr, None)
        else:
            self._block_pairs[self._ptr] = nonzero

    def _check(self, keys, labels, describe_row, nonzero) -> None:
        world = get_world_size() if self.gather_distributed else 1
        _check_before_enqueue(keys, labels, self.name, world,
                              binary_labels=self.num_classes is not None,
                              describe_row=describe_row, nonzero=nonzero)

    @torch.no_grad()
    def enqueue(self,
                keys: torch.Tensor,
                labels: torch.Tensor,
                describe_row: Optional[Callable[[int], str]] = None,
                nonzero: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
                _batch_in_sums: bool = False) -> None:
        """Write ``N x D`` keys and their labels (already gathered) at the pointer, wrapping
        around; with ``N > K`` only the last ``K`` rows are kept.

        Args:
            keys (Tensor): ``N x D`` keys, gathered in rank order.
            labels (Tensor): ``N x C`` multi-hot labels (dense or sparse COO) or ``(N,)``
                ids.
            describe_row (callable, optional): names row ``r`` in error messages.
            nonzero (tuple[Tensor, Tensor], optional): ``labels.nonzero(as_tuple=True)``
                when the caller has it (spares a pass over the labels). Defaults to None.

        Raises:
            FloatingPointError: a key is NaN or infinite (nothing is written).
            ValueError: a multi-hot label is not 0 or 1 (nothing is written).
        """
        if not _batch_in_sums:  # else forward checked the batch before adding it to the sums
            self._check(keys, labels, describe_row, nonzero)
        if labels.is_sparse:  # the queue stores dense rows: write them from the stored entries
            nonzero = _label_pairs(labels) if nonzero is None else nonzero
            labels = _dense_labels(nonzero, tuple(labels.shape), self.labels.dtype)
        num = keys.shape[0]
        maintain = self.num_classes is not None and self._sums_ready
        if maintain:
            first, slots = _ring_slots(self._ptr, num, self.size[0])
            slots = slots.to(self.keys.device)
            if _batch_in_sums:
                # forward already added the batch to the sums it handed to the loss: remove
                # the overwritten keys at the next read of the sums, after that loss
                old = self._block_pairs.get(self._ptr) if self._block_size == num else None
                if old is not None and old[0].device == self.keys.device:
                    # the block a step wrote whole: its label positions are known
                    old_rows, old_cls = old
                    old_keys = self.keys[self._ptr:self._ptr + num].index_select(0, old_rows)
                else:
                    old_rows, old_cls = self.labels.index_select(0, slots).nonzero(as_tuple=True)
                    old_keys = self.keys.index_select(0, slots).index_select(0, old_rows)
                self._pending_removal = (old_cls, old_keys.to(torch.float64))
            else:
                self._add_to_sums(self.keys.index_select(0, slots),  # the overwritten keys
                                  self.labels.index_select(0, slots), -1.0)
                if nonzero is not None and first == 0:
                    self._add_to_sums(keys.detach(), labels, 1.0, nonzero)
                else:
                    self._add_to_sums(keys[first:].detach(), labels[first:], 1.0)
        self._remember_block(num, nonzero)
        self._ptr = _write_ring((self.keys, self.labels), (keys, labels), self._ptr)
        self._filled = min(self._filled + num, self.size[0])
        self.ptr.fill_(self._ptr)
        self.filled.fill_(self._filled)
