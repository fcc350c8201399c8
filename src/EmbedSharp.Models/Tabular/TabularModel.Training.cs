using System.Globalization;
using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;
using EmbedSharp.Models.Dense;
using EmbedSharp.Models.Losses;
using EmbedSharp.Models.Recommenders;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;

namespace EmbedSharp.Models.Tabular;

public sealed partial class TabularModel
{
    /// <summary>
    /// Infers the schema (unless given), builds vocabularies and statistics from <paramref name="table"/>
    /// and trains the model; progress is reported after every epoch (loss = mean training loss).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown columns, no rows, or a target unusable for the task.</exception>
    /// <exception cref="DataFormatException">A continuous cell or regression target that is not a number.</exception>
    /// <exception cref="NonFiniteException">The loss became NaN or infinite.</exception>
    public static TabularModel Train(CsvTable table, TabularOptions options, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        const string op = "tabular.train";
        Guard.NotNull(op, table);
        Guard.NotNull(op, options);
        options.Validate();
        if (table.Rows.Count == 0)
            ThrowHelper.Argument(op, nameof(table), "the table has no rows to train on");
        int targetColumn = table.ColumnIndex(options.Target);
        foreach (string c in options.Categorical.Concat(options.Continuous).Concat(options.Ignore))
            table.ColumnIndex(c);
        var categorical = new List<string>();
        var continuous = new List<string>();
        for (int c = 0; c < table.Header.Count; c++)
        {
            string name = table.Header[c];
            if (c == targetColumn || options.Ignore.Contains(name))
                continue;
            if (options.Categorical.Contains(name))
                categorical.Add(name);
            else if (options.Continuous.Contains(name))
                continuous.Add(name);
            else if (LooksContinuous(table, c, options.MaxCategoriesForNumbers))
                continuous.Add(name);
            else
                categorical.Add(name);
        }
        if (categorical.Count + continuous.Count == 0)
            ThrowHelper.Argument(op, nameof(table), "there is no input column besides the target");

        TabularTask task = options.Task;
        if (task == TabularTask.Auto)
        {
            int classes = table.Rows.Select(r => r[targetColumn]).Distinct().Count();
            task = LooksContinuous(table, targetColumn, options.MaxCategoriesForNumbers) ? TabularTask.Regression : classes == 2 ? TabularTask.Binary : TabularTask.Multiclass;
        }
        string[] classLabels = [];
        double targetMean = 0, targetStd = 1;
        if (task == TabularTask.Regression)
        {
            var values = new double[table.Rows.Count];
            for (int r = 0; r < values.Length; r++)
                if (!double.TryParse(table.Rows[r][targetColumn], NumberStyles.Float, CultureInfo.InvariantCulture, out values[r]) || !double.IsFinite(values[r]))
                    throw new DataFormatException(op, table.Source, r + 2, targetColumn + 1, $"target '{table.Rows[r][targetColumn]}' is not a number (regression)");
            (targetMean, targetStd) = MeanStd(values);
        }
        else
        {
            classLabels = [.. table.Rows.Select(r => r[targetColumn]).Distinct().Order(StringComparer.Ordinal)];
            if (classLabels.Length < 2)
                ThrowHelper.Argument(op, nameof(table), $"the target '{options.Target}' has a single class; classification needs at least two");
            if (task == TabularTask.Binary && classLabels.Length != 2)
                ThrowHelper.Argument(op, nameof(options), $"binary classification needs exactly 2 classes but '{options.Target}' has {classLabels.Length}");
        }

        var vocabularies = new string[categorical.Count][];
        for (int k = 0; k < categorical.Count; k++)
        {
            int c = table.ColumnIndex(categorical[k]);
            vocabularies[k] = [Unknown, .. table.Rows.Select(r => r[c]).Distinct(StringComparer.Ordinal)];
        }
        var means = new double[continuous.Count];
        var stds = new double[continuous.Count];
        for (int k = 0; k < continuous.Count; k++)
        {
            int c = table.ColumnIndex(continuous[k]);
            var values = new List<double>();
            for (int r = 0; r < table.Rows.Count; r++)
            {
                string cell = table.Rows[r][c];
                if (cell.Length == 0)
                    continue;
                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                    throw new DataFormatException(op, table.Source, r + 2, c + 1, $"'{cell}' in continuous column '{continuous[k]}' is not a number");
                values.Add(v);
            }
            (means[k], stds[k]) = values.Count == 0 ? (0, 1) : MeanStd([.. values]);
        }
        int[] dims = [.. vocabularies.Select(v => TabularOptions.EmbeddingDims(options.SizeRule, v.Length))];
        var model = new TabularModel(options.Target, task, options.Encoding, [.. categorical], vocabularies, [.. continuous], means, stds,
            classLabels, targetMean, targetStd, dims, options.Hidden, options.Dropout, options.Seed);
        try
        {
            model.Fit(table, options, progress, cancellationToken);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    private static (double Mean, double Std) MeanStd(double[] values)
    {
        double mean = values.Average();
        double var = values.Sum(v => (v - mean) * (v - mean)) / values.Length;
        return (mean, var > 0 ? Math.Sqrt(var) : 1);
    }

    private static bool LooksContinuous(CsvTable table, int column, int maxCategories)
    {
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        foreach (string[] row in table.Rows)
        {
            string cell = row[column];
            if (cell.Length == 0)
                continue;
            if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                return false;
            distinct.Add(cell);
        }
        return distinct.Count > maxCategories;
    }

    private void Fit(CsvTable table, TabularOptions o, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        const string op = "tabular.train";
        var (cats, conts, target) = Encode(table, withTarget: true, out _);
        int n = table.Rows.Count, nc = CategoricalColumns.Count, nx = ContinuousColumns.Count, width = InputWidth, outs = OutputWidth;
        var head = new DenseAdamW(Head.Parameters, o.LearningRate, weightDecay: o.WeightDecay);
        var sparse = Tables?.Configs.ToDictionary(c => c.Name, c => (SparseOptimizer)FusedSparseBackward.Create(Tables[c.Name], new Adam(o.LearningRate)));
        try
        {
            int b = Math.Min(o.BatchSize, n);
            var input = new float[b * width];
            var output = new float[b * outs];
            var grad = new float[b * outs];
            var gradInput = new float[b * width];
            var gradTables = new float[b * CategoricalWidth];
            var batchCats = new int[b * nc];
            var batchConts = new float[b * nx];
            var batchTarget = new float[b];
            var labels = new int[b];
            int[] order = Enumerable.Range(0, n).ToArray();
            var rng = new SeededRandom(o.Seed + 7);
            for (int epoch = 1; epoch <= o.Epochs; epoch++)
            {
                ct.ThrowIfCancellationRequested();
                for (int k = n - 1; k > 0; k--)
                {
                    int j = rng.NextInt(k + 1);
                    (order[k], order[j]) = (order[j], order[k]);
                }
                double lossSum = 0;
                for (int start = 0; start < n; start += b)
                {
                    int rows = Math.Min(b, n - start);
                    for (int i = 0; i < rows; i++)
                    {
                        int r = order[start + i];
                        cats.AsSpan(r * nc, nc).CopyTo(batchCats.AsSpan(i * nc));
                        conts.AsSpan(r * nx, nx).CopyTo(batchConts.AsSpan(i * nx));
                        batchTarget[i] = target[r];
                        labels[i] = (int)target[r];
                    }
                    Span<float> x = input.AsSpan(0, rows * width), y = output.AsSpan(0, rows * outs), g = grad.AsSpan(0, rows * outs);
                    BuildInput(batchCats.AsSpan(0, rows * nc), batchConts.AsSpan(0, rows * nx), rows, x, out var keyed);
                    head.ZeroGrad();
                    Head.Forward(x, rows, y, training: true);
                    double loss = Task switch
                    {
                        TabularTask.Regression => Loss.MeanSquaredError(y, batchTarget.AsSpan(0, rows), g),
                        TabularTask.Binary => Loss.BinaryCrossEntropyWithLogits(y, batchTarget.AsSpan(0, rows), g),
                        _ => Loss.SoftmaxCrossEntropy(y, rows, outs, labels.AsSpan(0, rows), g),
                    };
                    if (!double.IsFinite(loss))
                        throw new NonFiniteException(ThrowHelper.Format(op, $"the loss became {loss} in epoch {epoch}; lower the learning rate"), epoch, -1, -1);
                    lossSum += loss * rows;
                    Span<float> gx = Tables is null ? default : gradInput.AsSpan(0, rows * width);
                    Head.Backward(x, y, g, rows, gx);
                    head.Step();
                    if (Tables is not null)
                    {
                        for (int i = 0; i < rows; i++)
                            gx.Slice(i * width, CategoricalWidth).CopyTo(gradTables.AsSpan(i * CategoricalWidth, CategoricalWidth));
                        Tables.BackwardAndStep(keyed!, gradTables.AsSpan(0, rows * CategoricalWidth), sparse!);
                    }
                }
                progress?.Report(new TrainingProgress(epoch, o.Epochs, lossSum / n));
            }
        }
        finally
        {
            if (sparse is not null)
                foreach (var s in sparse.Values)
                    s.Dispose();
        }
    }
}
