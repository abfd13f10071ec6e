#!/bin/sh
# Prints the PyTorch reference values hard-coded in runtime/tests/adam.c:
# three steps of torch.optim.Adam (PyTorch 1.13, Debian's python3-torch in
# /usr/bin/python3).
exec "${CNNCC_PYTHON:-/usr/bin/python3}" - <<'EOF'
import torch
def run(wd, lr):
    p = torch.tensor([0.5, -1.25, 3.0, 0.0, 1e-3, -7.5], dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd, foreach=False)
    grads = [[0.1, -0.2, 0.3, 1e-4, -5.0, 0.0],
             [-0.3, 0.25, 0.3, 2.0, 4.0, 1e-6],
             [0.05, -0.5, -0.1, 0.0, 3.0, -2.0]]
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
    st = opt.state[p]
    for name, t in (("p", p.detach()), ("m", st["exp_avg"]), ("v", st["exp_avg_sq"])):
        print(name, ", ".join("%.9g" % x for x in t.tolist()))
run(0.0, 1e-3)
run(0.01, 0.1)
EOF
