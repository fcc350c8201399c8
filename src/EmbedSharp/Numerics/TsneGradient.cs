using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Numerics;

/// <summary>t-SNE's gradient (Barnes-Hut and exact) and the shared optimiser.</summary>
// Size: ~420 lines because the Barnes-Hut tree, its eight-points-at-a-time SIMD traversal and the exact
// gradient that tests compare it with belong together; each part is a few short methods.
internal static class TsneGradient
{
    /// <summary>Writes <c>∂C/∂y</c> for a layout <c>y</c> (<c>n × 2</c>, interleaved) at exaggeration α.</summary>
    internal interface IGradient
    {
        void Compute(ReadOnlySpan<double> y, double exaggeration, Span<double> gradient);
    }

    /// <summary>Momentum + gains descent shared by both gradients (bhtsne's schedule, scikit-learn's gains).</summary>
    public static void Optimize<TGradient>(TGradient gradient, int rows, Span<float> destination, TsneOptions options)
        where TGradient : IGradient
    {
        var rng = new SeededRandom(options.Seed);
        var y = new double[2 * rows];
        for (int i = 0; i < y.Length; i++)
            y[i] = 1e-4 * rng.NextNormal();
        var grad = new double[y.Length];
        var update = new double[y.Length];
        var gains = new double[y.Length];
        Array.Fill(gains, 1.0);
        double rate = options.LearningRate ?? Math.Max(rows / options.Exaggeration / 4, 50);
        for (int iter = 0; iter < options.Iterations; iter++)
        {
            options.CancellationToken.ThrowIfCancellationRequested();
            bool early = iter < options.ExaggerationIterations;
            gradient.Compute(y, early ? options.Exaggeration : 1, grad);
            double momentum = early ? 0.5 : 0.8;
            double mx = 0, my = 0;
            for (int i = 0; i < y.Length; i++)
            {
                gains[i] = Math.Sign(grad[i]) != Math.Sign(update[i]) ? gains[i] + 0.2 : Math.Max(gains[i] * 0.8, 0.01);
                update[i] = momentum * update[i] - rate * gains[i] * grad[i];
                y[i] += update[i];
            }
            for (int i = 0; i < rows; i++)
            {
                mx += y[2 * i];
                my += y[2 * i + 1];
            }
            mx /= rows;
            my /= rows;
            for (int i = 0; i < rows; i++)
            {
                y[2 * i] -= mx;
                y[2 * i + 1] -= my;
            }
            if ((iter + 1) % 25 == 0 || iter + 1 == options.Iterations)
                options.Progress?.Report(new TsneProgress(iter + 1, options.Iterations));
        }
        for (int i = 0; i < y.Length; i++)
            destination[i] = (float)y[i];
    }

    /// <summary>The O(n²) gradient over dense affinities: the reference.</summary>
    internal readonly struct Exact(double[] p, int rows) : IGradient
    {
        public void Compute(ReadOnlySpan<double> y, double exaggeration, Span<double> gradient)
        {
            double z = 0;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < rows; j++)
                    if (i != j)
                        z += W(y, i, j);
            for (int i = 0; i < rows; i++)
            {
                double gx = 0, gy = 0;
                for (int j = 0; j < rows; j++)
                {
                    if (i == j)
                        continue;
                    double w = W(y, i, j);
                    double f = exaggeration * p[(long)i * rows + j] * w - w * w / z;
                    gx += f * (y[2 * i] - y[2 * j]);
                    gy += f * (y[2 * i + 1] - y[2 * j + 1]);
                }
                gradient[2 * i] = 4 * gx;
                gradient[2 * i + 1] = 4 * gy;
            }
        }

        /// <summary><c>KL(P ‖ Q) = Σ P_ij ln(P_ij / Q_ij)</c>: the cost whose gradient <see cref="Compute"/> is (at α = 1).</summary>
        public double Cost(ReadOnlySpan<double> y)
        {
            double z = 0;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < rows; j++)
                    if (i != j)
                        z += W(y, i, j);
            double kl = 0;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < rows; j++)
                {
                    double pij = p[(long)i * rows + j];
                    if (i != j && pij > 0)
                        kl += pij * Math.Log(pij / (W(y, i, j) / z));
                }
            return kl;
        }

        private static double W(ReadOnlySpan<double> y, int i, int j)
        {
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            return 1 / (1 + dx * dx + dy * dy);
        }
    }

    /// <summary>
    /// Attraction over the sparse affinities, repulsion over a quadtree of the layout rebuilt each call.
    /// Repulsion is taken for eight points at a time (<see cref="QuadTree.RepulsionPacket"/>: neighbours
    /// in the tree's order, one walk, single-precision SIMD across the eight); attraction row by row in
    /// double; both across threads.
    /// Each point's forces and share of Z depend only on the layout (packets follow the tree's order, Z
    /// is summed in point order), so the result does not depend on how the work is split across threads.
    /// </summary>
    internal sealed class BarnesHut(TsneAffinities.SparseP p, int rows, double theta, int threads) : IGradient
    {
        private readonly double[] _z = new double[rows];
        private readonly double[] _repulsion = new double[2 * rows];
        private readonly double[] _attraction = new double[2 * rows];
        private readonly float[] _yf = new float[2 * rows];
        private readonly QuadTree _tree = new(rows);

        /// <summary>Whether repulsion walks the tree four points at a time (false: one point at a time, the plain version).</summary>
        internal bool Packets { get; init; } = Vector256.IsHardwareAccelerated;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Compute(ReadOnlySpan<double> y, double exaggeration, Span<double> gradient)
        {
            double[] yArray = y.ToArray();
            _tree.Build(yArray);
            double theta2 = theta * theta;
            if (Packets)
            {
                for (int i = 0; i < yArray.Length; i++)
                    _yf[i] = (float)yArray[i];
                int packets = (rows + QuadTree.PacketSize - 1) / QuadTree.PacketSize;
                ParallelWork.For(packets, 8, threads, () => new int[4 * 64 + 8], (stack, s, e) =>
                {
                    for (int b = s; b < e; b++)
                        _tree.RepulsionPacket(_yf, b * QuadTree.PacketSize, theta2, ref stack, _z, _repulsion);
                }, static _ => { });
            }
            else
            {
                ParallelWork.For(rows, 64, threads, () => new int[4 * 64 + 8], (stack, s, e) =>
                {
                    for (int i = s; i < e; i++)
                        _z[i] = _tree.Repulsion(yArray, i, theta2, ref stack, out _repulsion[2 * i], out _repulsion[2 * i + 1]);
                }, static _ => { });
            }
            var offsets = p.Offsets;
            var cols = p.Columns;
            var vals = p.Values;
            ParallelWork.For(rows, 256, threads, (s, e) =>
            {
                for (int i = s; i < e; i++)
                {
                    double ax = 0, ay = 0, yx = yArray[2 * i], yy = yArray[2 * i + 1];
                    for (int t = offsets[i]; t < offsets[i + 1]; t++)
                    {
                        int j = cols[t];
                        double dx = yx - yArray[2 * j], dy = yy - yArray[2 * j + 1];
                        double f = vals[t] / (1 + dx * dx + dy * dy);
                        ax += f * dx;
                        ay += f * dy;
                    }
                    _attraction[2 * i] = ax;
                    _attraction[2 * i + 1] = ay;
                }
            });
            double z = 0;
            for (int i = 0; i < rows; i++)
                z += _z[i];
            for (int i = 0; i < 2 * rows; i++)
                gradient[i] = 4 * (exaggeration * _attraction[i] - _repulsion[i] / z);
        }
    }

    /// <summary>
    /// A point-region quadtree over the layout, stored in flat arrays: each inner node's four children
    /// are consecutive, each leaf owns a range of <c>_order</c> (one point, or several that coincide
    /// or lie deeper than <see cref="MaxDepth"/>).
    /// </summary>
    internal sealed class QuadTree(int rows)
    {
        private const int MaxDepth = 40;
        private readonly int[] _order = new int[rows];
        private readonly int[] _scratch = new int[rows];
        private Node[] _tree = new Node[64];
        private int _nodes;

        /// <summary>One cell, its fields side by side so a visit touches one cache line.</summary>
        private struct Node
        {
            public double X, Y, Side2;
            public int Count, First, Start;
        }

        public void Build(double[] y)
        {
            double minX = double.PositiveInfinity, minY = double.PositiveInfinity, maxX = double.NegativeInfinity, maxY = double.NegativeInfinity;
            for (int i = 0; i < rows; i++)
            {
                _order[i] = i;
                minX = Math.Min(minX, y[2 * i]);
                maxX = Math.Max(maxX, y[2 * i]);
                minY = Math.Min(minY, y[2 * i + 1]);
                maxY = Math.Max(maxY, y[2 * i + 1]);
            }
            double side = Math.Max(Math.Max(maxX - minX, maxY - minY), 1e-12) * (1 + 1e-9);
            _nodes = 1;
            Fill(0, y, 0, rows, minX, minY, side, 0);
        }

        private void Fill(int node, double[] y, int start, int end, double x0, double y0, double side, int depth)
        {
            double sx = 0, sy = 0;
            for (int t = start; t < end; t++)
            {
                sx += y[2 * _order[t]];
                sy += y[2 * _order[t] + 1];
            }
            int n = end - start;
            ref Node cell = ref _tree[node];
            cell.X = n == 0 ? 0 : sx / n;
            cell.Y = n == 0 ? 0 : sy / n;
            cell.Side2 = side * side;
            cell.Count = n;
            cell.Start = start;
            cell.First = -1;
            if (n <= 1 || depth >= MaxDepth)
                return;
            // Partition the range into quadrants (x low/high × y low/high) through the scratch array.
            double half = side / 2, mx = x0 + half, my = y0 + half;
            Span<int> counts = stackalloc int[4];
            for (int t = start; t < end; t++)
                counts[Quadrant(y, _order[t], mx, my)]++;
            Span<int> at = stackalloc int[4];
            at[0] = start;
            for (int q = 1; q < 4; q++)
                at[q] = at[q - 1] + counts[q - 1];
            for (int t = start; t < end; t++)
            {
                int id = _order[t];
                _scratch[at[Quadrant(y, id, mx, my)]++] = id;
            }
            Array.Copy(_scratch, start, _order, start, n);
            int first = Allocate();
            _tree[node].First = first;
            int s = start;
            for (int q = 0; q < 4; q++)
            {
                Fill(first + q, y, s, s + counts[q], (q & 1) == 0 ? x0 : mx, (q & 2) == 0 ? y0 : my, half, depth + 1);
                s += counts[q];
            }
        }

        private static int Quadrant(double[] y, int id, double mx, double my) =>
            (y[2 * id] >= mx ? 1 : 0) | (y[2 * id + 1] >= my ? 2 : 0);

        private int Allocate()
        {
            int first = _nodes;
            _nodes += 4;
            if (_nodes > _tree.Length)
                Array.Resize(ref _tree, Math.Max(_nodes, _tree.Length * 2));
            return first;
        }

        /// <summary>Points per packet of <see cref="RepulsionPacket"/> (one Vector256 of floats).</summary>
        public const int PacketSize = 8;

        /// <summary>
        /// <see cref="Repulsion"/> for the points at tree positions <c>first..first+7</c> (fewer at the end),
        /// in one walk, in single precision (<paramref name="yf"/> is the layout as floats): a cell is
        /// summarised only when it is far enough for all eight (so each point is summed at least as
        /// finely as alone), leaves are summed point by point, each lane leaving out its own point.
        /// Writes each point's share of Z into <paramref name="z"/> and its repulsion into <paramref name="force"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RepulsionPacket(float[] yf, int first, double theta2, ref int[] stack, double[] z, double[] force)
        {
            int lanes = Math.Min(PacketSize, rows - first);
            Span<int> id = stackalloc int[PacketSize];
            Span<float> xs = stackalloc float[PacketSize];
            Span<float> ys = stackalloc float[PacketSize];
            for (int l = 0; l < PacketSize; l++)
            {
                id[l] = _order[first + Math.Min(l, lanes - 1)];
                xs[l] = yf[2 * id[l]];
                ys[l] = yf[2 * id[l] + 1];
            }
            var px = Vector256.Create<float>(xs);
            var py = Vector256.Create<float>(ys);
            var self = Vector256.Create<int>(id);
            var one = Vector256.Create(1f);
            var t2 = Vector256.Create((float)theta2);
            Vector256<float> zs = Vector256<float>.Zero, fx = Vector256<float>.Zero, fy = Vector256<float>.Zero;
            int top = 0;
            stack[top++] = 0;
            while (top > 0)
            {
                ref readonly Node cell = ref _tree[stack[--top]];
                int count = cell.Count;
                if (count == 0)
                    continue;
                int children = cell.First;
                if (children < 0)
                {
                    for (int t = cell.Start; t < cell.Start + count; t++)
                    {
                        int j = _order[t];
                        var ex = px - Vector256.Create(yf[2 * j]);
                        var ey = py - Vector256.Create(yf[2 * j + 1]);
                        var w = one / (one + ex * ex + ey * ey);
                        // Each lane leaves its own point out.
                        w = Vector256.ConditionalSelect(Vector256.Equals(self, Vector256.Create(j)).AsSingle(), Vector256<float>.Zero, w);
                        zs += w;
                        var w2 = w * w;
                        fx += w2 * ex;
                        fy += w2 * ey;
                    }
                    continue;
                }
                var dx = px - Vector256.Create((float)cell.X);
                var dy = py - Vector256.Create((float)cell.Y);
                var d2 = dx * dx + dy * dy;
                if (Vector256.LessThanAll(Vector256.Create((float)cell.Side2), t2 * d2))
                {
                    var w = one / (one + d2);
                    var n = Vector256.Create((float)count);
                    zs += n * w;
                    var nw2 = n * w * w;
                    fx += nw2 * dx;
                    fy += nw2 * dy;
                    continue;
                }
                if (top + 4 > stack.Length)
                    Array.Resize(ref stack, stack.Length * 2);
                stack[top++] = children;
                stack[top++] = children + 1;
                stack[top++] = children + 2;
                stack[top++] = children + 3;
            }
            for (int l = 0; l < lanes; l++)
            {
                int i = id[l];
                z[i] = zs.GetElement(l);
                force[2 * i] = fx.GetElement(l);
                force[2 * i + 1] = fy.GetElement(l);
            }
        }

        /// <summary>
        /// Point i's repulsion <c>Σ_j w_ij² (y_i − y_j)</c> and its share <c>Σ_j w_ij</c> of Z, cells
        /// with <c>side² &lt; θ² d²</c> taken as their centre of mass.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public double Repulsion(double[] y, int i, double theta2, ref int[] stack, out double fx, out double fy)
        {
            double px = y[2 * i], py = y[2 * i + 1], z = 0;
            fx = 0;
            fy = 0;
            int top = 0;
            stack[top++] = 0;
            while (top > 0)
            {
                ref readonly Node cell = ref _tree[stack[--top]];
                int count = cell.Count;
                if (count == 0)
                    continue;
                double dx = px - cell.X, dy = py - cell.Y, d2 = dx * dx + dy * dy;
                int first = cell.First;
                if (first < 0 && count == 1)
                {
                    // A one-point leaf (most leaves): its centre is the point, so no trip to the layout.
                    if (_order[cell.Start] == i)
                        continue;
                    double w = 1 / (1 + d2);
                    z += w;
                    fx += w * w * dx;
                    fy += w * w * dy;
                    continue;
                }
                if (first < 0)
                {
                    for (int t = cell.Start; t < cell.Start + count; t++)
                    {
                        int j = _order[t];
                        if (j == i)
                            continue;
                        double ex = px - y[2 * j], ey = py - y[2 * j + 1];
                        double w = 1 / (1 + ex * ex + ey * ey);
                        z += w;
                        fx += w * w * ex;
                        fy += w * w * ey;
                    }
                    continue;
                }
                if (cell.Side2 < theta2 * d2)
                {
                    double w = 1 / (1 + d2);
                    z += count * w;
                    fx += count * w * w * dx;
                    fy += count * w * w * dy;
                    continue;
                }
                if (top + 4 > stack.Length)
                    Array.Resize(ref stack, stack.Length * 2);
                stack[top++] = first;
                stack[top++] = first + 1;
                stack[top++] = first + 2;
                stack[top++] = first + 3;
            }
            return z;
        }
    }
}
