# The ALL-positives ablation of MulSupCon on MIML scene: a key is a positive only when its label
# set equals the query's (../mulsupcon_... otherwise unchanged).
_base_ = ['./mulsupcon_resnet18-w16_1xb64-adam-15e_miml.py']
model = dict(head=dict(positives='all'))
