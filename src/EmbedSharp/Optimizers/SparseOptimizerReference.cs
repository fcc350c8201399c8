using EmbedSharp.Sparse;

namespace EmbedSharp.Optimizers;

/// <summary>
/// The unfused reference for <see cref="FusedSparseBackward{TRule}"/>: a dense float32 weight matrix,
/// dense state for every row, a dense gradient, and a plain loop over all rows that updates a row when
/// it is listed in the gradient (Lazy) or always (Dense). No paging, no threads, no in-place storage
/// tricks. Tests compare the fused optimizer with it bit for bit.
/// </summary>
internal sealed class SparseOptimizerReference<TRule> where TRule : struct, ISparseUpdateRule
{
    private readonly TRule _rule;
    private readonly int _numEmbeddings, _dims, _width;
    private readonly UntouchedRows _untouched;
    private readonly LearningRateSchedule _schedule;
    private readonly double? _maxRowNorm, _maxGlobalNorm;

    public SparseOptimizerReference(float[] weight, int numEmbeddings, int dims, TRule rule, SparseOptimizerOptions options)
    {
        Weight = weight;
        _numEmbeddings = numEmbeddings;
        _dims = dims;
        _rule = rule;
        _width = rule.StateWidth(dims);
        _untouched = options.UntouchedRows;
        _schedule = options.Schedule;
        _maxRowNorm = options.MaxRowNorm;
        _maxGlobalNorm = options.MaxGlobalNorm;
        State = new float[numEmbeddings * _width];
        for (int r = 0; r < numEmbeddings; r++)
            rule.InitializeState(State.AsSpan(r * _width, _width));
    }

    public float[] Weight { get; }

    public float[] State { get; }

    public long StepCount { get; private set; }

    public void Step(SparseGradient gradient)
    {
        StepCount++;
        StepScalars scalars = _rule.Prepare(StepCount, _schedule.Factor(StepCount));
        var dense = new float[_numEmbeddings * _dims];
        var listed = new bool[_numEmbeddings];
        var factor = new double[gradient.Count];
        double total = 0;
        for (int i = 0; i < gradient.Count; i++)
        {
            double sq = 0;
            foreach (float g in gradient.GetRow(i))
                sq += (double)g * g;
            double n = Math.Sqrt(sq);
            factor[i] = _maxRowNorm is double m && n > m ? m / (n + 1e-6) : 1;
            total += n * factor[i] * (n * factor[i]);
        }
        double global = _maxGlobalNorm is double mg && mg / (Math.Sqrt(total) + 1e-6) < 1 ? mg / (Math.Sqrt(total) + 1e-6) : 1;
        for (int i = 0; i < gradient.Count; i++)
        {
            int r = gradient.Rows[i];
            listed[r] = true;
            float f = (float)factor[i];
            if (global != 1)
                f = (float)(f * global);
            ReadOnlySpan<float> g = gradient.GetRow(i);
            for (int d = 0; d < _dims; d++)
                dense[r * _dims + d] = f == 1f ? g[d] : g[d] * f;
        }
        for (int r = 0; r < _numEmbeddings; r++)
        {
            if (!listed[r] && _untouched == UntouchedRows.Lazy)
                continue;
            _rule.UpdateRow(Weight.AsSpan(r * _dims, _dims), dense.AsSpan(r * _dims, _dims), State.AsSpan(r * _width, _width), scalars);
        }
    }
}
