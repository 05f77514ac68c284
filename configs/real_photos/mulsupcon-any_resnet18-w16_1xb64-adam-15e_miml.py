# The ANY-positives ablation of MulSupCon on MIML scene: a key is a positive when it shares at least
# one label with the query (../mulsupcon_... otherwise unchanged).
_base_ = ['./mulsupcon_resnet18-w16_1xb64-adam-15e_miml.py']
model = dict(head=dict(positives='any'))
