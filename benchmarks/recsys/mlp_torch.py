"""PyTorch peer for the dense layers: forward + backward of the same MLP (Linear-ReLU-...-Linear,
PyTorch init) on the same batch, best of N repetitions after 5 warm-ups, CPU (Debian python3-torch).
Usage: mlp_torch.py [batch] [sizes] [reps] [threads] -> one JSON line."""
import json, sys, time
import torch

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 512
sizes = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "256,512,256,1").split(",")]
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 50
if len(sys.argv) > 4:
    torch.set_num_threads(int(sys.argv[4]))
torch.manual_seed(1)
layers = []
for a, b in zip(sizes[:-2], sizes[1:-1]):
    layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
layers.append(torch.nn.Linear(sizes[-2], sizes[-1]))
mlp = torch.nn.Sequential(*layers)
x = torch.rand(batch, sizes[0])
grad = torch.full((batch, sizes[-1]), 1.0 / batch)
best = float("inf")
for r in range(reps + 5):
    t = time.perf_counter()
    y = mlp(x)
    y.backward(grad)
    elapsed = time.perf_counter() - t
    if r >= 5:
        best = min(best, elapsed)
print(json.dumps({"peer": "torch", "version": torch.__version__, "threads": torch.get_num_threads(), "batch": batch,
                  "sizes": ",".join(map(str, sizes)), "best_ms": round(best * 1000, 3)}))
