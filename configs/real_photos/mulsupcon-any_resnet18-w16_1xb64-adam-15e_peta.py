# The ANY-positives ablation of MulSupCon on PETA: a key is a positive when it shares at least
# one label with the query (../mulsupcon_... otherwise unchanged).
_base_ = ['./mulsupcon_resnet18-w16_1xb64-adam-15e_peta.py']
model = dict(head=dict(positives='any'))
