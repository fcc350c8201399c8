using System.Globalization;
using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;
using EmbedSharp.Models.Dense;
using EmbedSharp.Models.Losses;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;

namespace EmbedSharp.Models.Tabular;

/// <summary>Quality of a <see cref="TabularModel"/> on a table.</summary>
/// <param name="Rows">Rows scored.</param>
/// <param name="Rmse">Regression: root mean squared error (NaN otherwise).</param>
/// <param name="Mae">Regression: mean absolute error (NaN otherwise).</param>
/// <param name="Accuracy">Classification: share of rows whose most likely class is right (NaN for regression).</param>
/// <param name="LogLoss">Classification: mean negative log-likelihood (NaN for regression).</param>
/// <param name="Auc">Binary: area under the ROC curve (ties count half; NaN otherwise).</param>
/// <param name="UnknownCategories">Categorical cells that fell to their column's unknown row.</param>
public readonly record struct TabularReport(int Rows, double Rmse, double Mae, double Accuracy, double LogLoss, double Auc, int UnknownCategories);

/// <summary>
/// Entity embeddings for tabular data (Guo &amp; Berkhahn 2016; fastai's <c>TabularModel</c>): each
/// categorical column gets an embedding table (row 0 = unknown/unseen values, then the training
/// values in order of first appearance) whose width follows <see cref="EmbeddingSizeRule"/>; the pooled
/// rows are concatenated with the standardised continuous columns and fed to an MLP head (regression:
/// MSE on the standardised target; binary: BCE-with-logits; multiclass: softmax cross-entropy).
/// </summary>
/// <remarks>
/// The tables live in a core <see cref="TableCollection"/> (one single-id bag per column per row) and
/// train with its fused sparse Adam step; the head trains with AdamW. The learned tables export per
/// column with their vocabulary (<see cref="ExportEmbeddings"/>, <see cref="WriteEmbeddingsCsv"/>) to feed
/// another model — the paper's point. Not thread-safe.
/// </remarks>
public sealed partial class TabularModel : IDisposable
{
    internal const string Unknown = "<unk>";
    private readonly Dictionary<string, int>[] _index;
    private float[]? _buffer;

    internal TabularModel(string target, TabularTask task, CategoricalEncoding encoding, string[] categorical, string[][] vocabularies,
        string[] continuous, double[] means, double[] stds, string[] classLabels, double targetMean, double targetStd,
        int[] dims, IReadOnlyList<int> hidden, float dropout, ulong seed)
    {
        Target = target;
        Task = task;
        Encoding = encoding;
        CategoricalColumns = categorical;
        Vocabularies = vocabularies;
        ContinuousColumns = continuous;
        Means = means;
        Stds = stds;
        ClassLabels = classLabels;
        TargetMean = targetMean;
        TargetStd = targetStd;
        EmbeddingDims = dims;
        Hidden = [.. hidden];
        Dropout = dropout;
        _index = [.. vocabularies.Select(v => v.Select((value, i) => (value, i)).Skip(1).ToDictionary(x => x.value, x => x.i, StringComparer.Ordinal))];
        if (encoding == CategoricalEncoding.Embedding && categorical.Length > 0)
            Tables = new TableCollection(categorical.Select((c, k) => new TableConfig(c, vocabularies[k].Length, dims[k], [c], PoolingMode.Sum)), seed);
        CategoricalWidth = encoding == CategoricalEncoding.Embedding ? dims.Sum() : vocabularies.Sum(v => v.Length);
        Head = new Mlp(CategoricalWidth + continuous.Length, Hidden, OutputWidth, ActivationKind.ReLU, dropout, seed: seed + 1000);
    }

    /// <summary>The predicted column.</summary>
    public string Target { get; }

    /// <summary>Regression, binary or multiclass.</summary>
    public TabularTask Task { get; }

    /// <summary>Embeddings or one-hot.</summary>
    public CategoricalEncoding Encoding { get; }

    /// <summary>Categorical columns, in input order.</summary>
    public IReadOnlyList<string> CategoricalColumns { get; }

    /// <summary>Per categorical column: row → value, row 0 being <c>&lt;unk&gt;</c>.</summary>
    public IReadOnlyList<string[]> Vocabularies { get; }

    /// <summary>Continuous columns, in input order.</summary>
    public IReadOnlyList<string> ContinuousColumns { get; }

    /// <summary>Training means of the continuous columns (missing cells take the mean).</summary>
    public IReadOnlyList<double> Means { get; }

    /// <summary>Training standard deviations of the continuous columns.</summary>
    public IReadOnlyList<double> Stds { get; }

    /// <summary>Classification: the class values (binary: the positive class is the second).</summary>
    public IReadOnlyList<string> ClassLabels { get; }

    /// <summary>Regression: the target's training mean.</summary>
    public double TargetMean { get; }

    /// <summary>Regression: the target's training standard deviation.</summary>
    public double TargetStd { get; }

    /// <summary>Embedding width per categorical column.</summary>
    public IReadOnlyList<int> EmbeddingDims { get; }

    /// <summary>Hidden widths of the head.</summary>
    public IReadOnlyList<int> Hidden { get; }

    /// <summary>Dropout of the head.</summary>
    public float Dropout { get; }

    /// <summary>The embedding tables (null with one-hot encoding or no categorical column).</summary>
    public TableCollection? Tables { get; }

    /// <summary>The MLP head.</summary>
    public Mlp Head { get; }

    internal int CategoricalWidth { get; }

    internal int InputWidth => CategoricalWidth + ContinuousColumns.Count;

    internal int OutputWidth => Task == TabularTask.Multiclass ? ClassLabels.Count : 1;

    /// <summary>A categorical column's learned table with its vocabulary (row 0 = unknown).</summary>
    /// <exception cref="ArgumentException">No such categorical column, or one-hot encoding (no table).</exception>
    public (string[] Vocabulary, float[] Rows, int Dims) ExportEmbeddings(string column)
    {
        const string op = "tabular.export";
        int k = Array.IndexOf((string[])CategoricalColumns, column);
        if (k < 0)
            ThrowHelper.Argument(op, nameof(column), $"'{column}' is not a categorical column (categorical: {string.Join(", ", CategoricalColumns)})");
        if (Tables is null)
            ThrowHelper.Argument(op, nameof(column), "a one-hot model has no embedding tables");
        return ((string[])Vocabularies[k].Clone(), Tables![column].ToArray(), EmbeddingDims[k]);
    }

    /// <summary>Writes <paramref name="column"/>'s table as CSV: <c>value,d0,d1,…</c>, one row per vocabulary entry.</summary>
    public void WriteEmbeddingsCsv(string column, TextWriter writer)
    {
        Guard.NotNull("tabular.export", writer);
        var (vocab, rows, dims) = ExportEmbeddings(column);
        writer.WriteLine("value," + string.Join(",", Enumerable.Range(0, dims).Select(d => $"d{d}")));
        for (int r = 0; r < vocab.Length; r++)
        {
            string v = vocab[r];
            string quoted = v.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;
            writer.WriteLine(quoted + "," + string.Join(",", rows.AsSpan(r * dims, dims).ToArray().Select(x => x.ToString("R", CultureInfo.InvariantCulture))));
        }
    }

    /// <summary>Per row: the regression value, the positive class's probability (binary) or the most likely class index (multiclass).</summary>
    public float[] Predict(CsvTable table)
    {
        var (cats, conts, _) = Encode(table, withTarget: false, out _);
        float[] scores = Scores(cats, conts, table.Rows.Count);
        var result = new float[table.Rows.Count];
        for (int r = 0; r < result.Length; r++)
        {
            result[r] = Task switch
            {
                TabularTask.Regression => (float)(scores[r] * TargetStd + TargetMean),
                TabularTask.Binary => (float)Loss.Sigmoid(scores[r]),
                _ => ArgMax(scores.AsSpan(r * OutputWidth, OutputWidth)),
            };
        }
        return result;
    }

    /// <summary>Scores <paramref name="table"/> (which must hold the target column) and reports quality.</summary>
    public TabularReport Evaluate(CsvTable table)
    {
        var (cats, conts, target) = Encode(table, withTarget: true, out int unknown);
        int n = table.Rows.Count;
        float[] scores = Scores(cats, conts, n);
        if (Task == TabularTask.Regression)
        {
            double se = 0, ae = 0;
            for (int r = 0; r < n; r++)
            {
                double e = (scores[r] - target[r]) * TargetStd;
                se += e * e;
                ae += Math.Abs(e);
            }
            return new TabularReport(n, Math.Sqrt(se / Math.Max(n, 1)), ae / Math.Max(n, 1), double.NaN, double.NaN, double.NaN, unknown);
        }
        double correct = 0, logLoss = 0;
        int classes = OutputWidth;
        for (int r = 0; r < n; r++)
        {
            int label = (int)target[r];
            if (Task == TabularTask.Binary)
            {
                double p = Loss.Sigmoid(scores[r]);
                correct += (p >= 0.5 ? 1 : 0) == label ? 1 : 0;
                logLoss -= Math.Log(Math.Clamp(label == 1 ? p : 1 - p, 1e-15, 1));
            }
            else
            {
                ReadOnlySpan<float> z = scores.AsSpan(r * classes, classes);
                correct += ArgMax(z) == label ? 1 : 0;
                double max = double.NegativeInfinity, sum = 0;
                foreach (float v in z)
                    max = Math.Max(max, v);
                foreach (float v in z)
                    sum += Math.Exp(v - max);
                logLoss -= z[label] - max - Math.Log(sum);
            }
        }
        double auc = Task == TabularTask.Binary ? Auc(scores.AsSpan(0, n), target) : double.NaN;
        return new TabularReport(n, double.NaN, double.NaN, correct / Math.Max(n, 1), logLoss / Math.Max(n, 1), auc, unknown);
    }

    /// <summary>AUC of scores against 0/1 labels by the rank-sum formula, ties at half.</summary>
    internal static double Auc(ReadOnlySpan<float> scores, float[] labels)
    {
        int n = scores.Length;
        int[] order = Enumerable.Range(0, n).ToArray();
        float[] s = scores.ToArray();
        Array.Sort(s, order);
        double rankSum = 0;
        long positives = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j < n && s[j] == s[i])
                j++;
            double rank = (i + j + 1) / 2.0; // mean 1-based rank of the tie group
            for (int t = i; t < j; t++)
                if (labels[order[t]] == 1)
                {
                    rankSum += rank;
                    positives++;
                }
            i = j;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0)
            return double.NaN;
        return (rankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    private static int ArgMax(ReadOnlySpan<float> z)
    {
        int best = 0;
        for (int c = 1; c < z.Length; c++)
            if (z[c] > z[best])
                best = c;
        return best;
    }

    /// <summary>
    /// Encodes a table by column name: categorical cells → vocabulary rows (0 when unseen), continuous
    /// cells → standardised values (the mean when empty), the target → standardised value or class index.
    /// </summary>
    internal (int[] Cats, float[] Conts, float[] Target) Encode(CsvTable table, bool withTarget, out int unknown)
    {
        const string op = "tabular.encode";
        Guard.NotNull(op, table);
        int n = table.Rows.Count, nc = CategoricalColumns.Count, nx = ContinuousColumns.Count;
        int[] catIndex = [.. CategoricalColumns.Select(table.ColumnIndex)];
        int[] contIndex = [.. ContinuousColumns.Select(table.ColumnIndex)];
        int targetIndex = withTarget ? table.ColumnIndex(Target) : -1;
        var cats = new int[n * nc];
        var conts = new float[n * nx];
        var target = new float[withTarget ? n : 0];
        unknown = 0;
        for (int r = 0; r < n; r++)
        {
            string[] row = table.Rows[r];
            for (int k = 0; k < nc; k++)
            {
                int id = _index[k].GetValueOrDefault(row[catIndex[k]], 0);
                if (id == 0)
                    unknown++;
                cats[r * nc + k] = id;
            }
            for (int k = 0; k < nx; k++)
            {
                string cell = row[contIndex[k]];
                double v = Means[k];
                if (cell.Length > 0 && !double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out v))
                    throw new DataFormatException(op, table.Source, r + 2, contIndex[k] + 1, $"'{cell}' in continuous column '{ContinuousColumns[k]}' is not a number");
                conts[r * nx + k] = (float)((v - Means[k]) / Stds[k]);
            }
            if (withTarget)
                target[r] = EncodeTarget(op, table.Source, row[targetIndex], r, targetIndex);
        }
        return (cats, conts, target);
    }

    private float EncodeTarget(string op, string source, string cell, int r, int column)
    {
        if (Task == TabularTask.Regression)
        {
            if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                throw new DataFormatException(op, source, r + 2, column + 1, $"target '{cell}' is not a number");
            return (float)((v - TargetMean) / TargetStd);
        }
        int label = Array.IndexOf((string[])ClassLabels, cell);
        if (label < 0)
            throw new DataFormatException(op, source, r + 2, column + 1, $"target '{cell}' is not one of the trained classes ({string.Join(", ", ClassLabels)})");
        return label;
    }

    /// <summary>The network's input rows <c>[rows, InputWidth]</c> for encoded cells (embedding lookups or one-hot).</summary>
    internal void BuildInput(ReadOnlySpan<int> cats, ReadOnlySpan<float> conts, int rows, Span<float> input, out KeyedBatch? batch)
    {
        int nc = CategoricalColumns.Count, nx = ContinuousColumns.Count, width = InputWidth;
        batch = null;
        input.Clear();
        if (Tables is not null)
        {
            batch = Batch(cats, rows);
            float[] pooled = Tables.Forward(batch);
            for (int r = 0; r < rows; r++)
                pooled.AsSpan(r * CategoricalWidth, CategoricalWidth).CopyTo(input.Slice(r * width, CategoricalWidth));
        }
        else if (Encoding == CategoricalEncoding.OneHot)
        {
            for (int r = 0; r < rows; r++)
            {
                int offset = 0;
                for (int k = 0; k < nc; k++)
                {
                    input[r * width + offset + cats[r * nc + k]] = 1f;
                    offset += Vocabularies[k].Length;
                }
            }
        }
        for (int r = 0; r < rows; r++)
            conts.Slice(r * nx, nx).CopyTo(input.Slice(r * width + CategoricalWidth, nx));
    }

    internal KeyedBatch Batch(ReadOnlySpan<int> cats, int rows)
    {
        int nc = CategoricalColumns.Count;
        var batch = new KeyedBatch(rows);
        int[] offsets = [.. Enumerable.Range(0, rows + 1)];
        for (int k = 0; k < nc; k++)
        {
            var ids = new int[rows];
            for (int r = 0; r < rows; r++)
                ids[r] = cats[r * nc + k];
            batch.Add(CategoricalColumns[k], ids, offsets);
        }
        return batch;
    }

    private float[] Scores(int[] cats, float[] conts, int n)
    {
        const int chunk = 1024;
        int nc = CategoricalColumns.Count, nx = ContinuousColumns.Count;
        var scores = new float[n * OutputWidth];
        for (int start = 0; start < n; start += chunk)
        {
            int rows = Math.Min(chunk, n - start);
            float[] input = Layer_Ensure(ref _buffer, rows * InputWidth);
            BuildInput(cats.AsSpan(start * nc, rows * nc), conts.AsSpan(start * nx, rows * nx), rows, input.AsSpan(0, rows * InputWidth), out _);
            Head.Forward(input.AsSpan(0, rows * InputWidth), rows, scores.AsSpan(start * OutputWidth, rows * OutputWidth));
        }
        return scores;
    }

    private static float[] Layer_Ensure(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
            buffer = new float[Math.Max(length, 1)];
        return buffer;
    }

    /// <summary>Frees the embedding tables.</summary>
    public void Dispose() => Tables?.Dispose();
}
