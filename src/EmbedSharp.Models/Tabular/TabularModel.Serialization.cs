using System.Runtime.InteropServices;
using System.Text;
using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;

namespace EmbedSharp.Models.Tabular;

public sealed partial class TabularModel
{
    private static ReadOnlySpan<byte> Magic => "ESTABM01"u8;

    /// <summary>
    /// Writes the model (little-endian, strings length-prefixed UTF-8): magic <c>ESTABM01</c>, the schema
    /// (target, task, encoding, categorical columns with widths and vocabularies, continuous columns with
    /// mean and std, classes, target statistics, head widths, dropout), then each head parameter
    /// (length + values) and each embedding table's rows.
    /// </summary>
    public void Save(Stream stream)
    {
        Guard.NotNull("tabular.save", stream);
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Target);
        w.Write((int)Task);
        w.Write((int)Encoding);
        w.Write(CategoricalColumns.Count);
        for (int k = 0; k < CategoricalColumns.Count; k++)
        {
            w.Write(CategoricalColumns[k]);
            w.Write(EmbeddingDims[k]);
            w.Write(Vocabularies[k].Length);
            foreach (string v in Vocabularies[k])
                w.Write(v);
        }
        w.Write(ContinuousColumns.Count);
        for (int k = 0; k < ContinuousColumns.Count; k++)
        {
            w.Write(ContinuousColumns[k]);
            w.Write(Means[k]);
            w.Write(Stds[k]);
        }
        w.Write(ClassLabels.Count);
        foreach (string c in ClassLabels)
            w.Write(c);
        w.Write(TargetMean);
        w.Write(TargetStd);
        w.Write(Hidden.Count);
        foreach (int h in Hidden)
            w.Write(h);
        w.Write(Dropout);
        foreach (var p in Head.Parameters)
        {
            w.Write(p.Length);
            w.Write(MemoryMarshal.AsBytes(p.Value.AsSpan()));
        }
        if (Tables is not null)
            foreach (string c in CategoricalColumns)
                w.Write(MemoryMarshal.AsBytes(Tables[c].ToArray().AsSpan()));
    }

    /// <summary>Reads what <see cref="Save"/> wrote; every count is checked against the bytes that remain before it is used.</summary>
    /// <exception cref="InvalidDataException">Not a tabular model, truncated or inconsistent (the message gives the byte offset).</exception>
    public static TabularModel Load(Stream stream)
    {
        using var file = ModelFileReader.Open("tabular.load", stream);
        stream = file.Stream;
        var r = file.Reader;
        InvalidDataException Bad(string problem) => file.Bad(problem);
        int Count(string what, long bytesEach, long max = int.MaxValue) => file.Count(what, bytesEach, max);
        try
        {
            if (file.Length < 8 || !r.ReadBytes(8).AsSpan().SequenceEqual(Magic))
                throw Bad("not an EmbedSharp tabular model (magic ESTABM01 missing)");
            string target = r.ReadString();
            int task = r.ReadInt32(), encoding = r.ReadInt32();
            if (!Enum.IsDefined((TabularTask)task) || (TabularTask)task == TabularTask.Auto || !Enum.IsDefined((CategoricalEncoding)encoding))
                throw Bad($"unknown task {task} or encoding {encoding}");
            int nc = Count("categorical column", 9);
            var cats = new string[nc];
            var dims = new int[nc];
            var vocab = new string[nc][];
            for (int k = 0; k < nc; k++)
            {
                cats[k] = r.ReadString();
                dims[k] = r.ReadInt32();
                if (dims[k] < 1 || dims[k] > 600)
                    throw Bad($"embedding width {dims[k]} of '{cats[k]}' is outside 1..600");
                int v = Count("vocabulary", 1);
                vocab[k] = new string[v];
                for (int i = 0; i < v; i++)
                    vocab[k][i] = r.ReadString();
                if (v == 0 || vocab[k][0] != Unknown || vocab[k].Distinct(StringComparer.Ordinal).Count() != v)
                    throw Bad($"the vocabulary of '{cats[k]}' must start with {Unknown} and list each value once");
            }
            int nx = Count("continuous column", 17);
            var conts = new string[nx];
            var means = new double[nx];
            var stds = new double[nx];
            for (int k = 0; k < nx; k++)
            {
                conts[k] = r.ReadString();
                means[k] = r.ReadDouble();
                stds[k] = r.ReadDouble();
                if (!double.IsFinite(means[k]) || !(stds[k] > 0) || double.IsInfinity(stds[k]))
                    throw Bad($"continuous column '{conts[k]}' has a non-finite mean or a std that is not > 0");
            }
            int classes = Count("class", 1);
            var labels = new string[classes];
            for (int i = 0; i < classes; i++)
                labels[i] = r.ReadString();
            double targetMean = r.ReadDouble(), targetStd = r.ReadDouble();
            int nh = Count("hidden layer", 4, 64);
            var hidden = new int[nh];
            for (int i = 0; i < nh; i++)
            {
                hidden[i] = r.ReadInt32();
                if (hidden[i] < 1 || hidden[i] > 65536)
                    throw Bad($"hidden width {hidden[i]} is outside 1..65536");
            }
            float dropout = r.ReadSingle();
            if (!(dropout >= 0 && dropout < 1) || !double.IsFinite(targetMean) || !(targetStd > 0))
                throw Bad("dropout or target statistics out of range");
            if ((TabularTask)task == TabularTask.Binary && classes != 2 || (TabularTask)task == TabularTask.Multiclass && classes < 2)
                throw Bad($"{(TabularTask)task} with {classes} classes");
            long tableBytes = (CategoricalEncoding)encoding == CategoricalEncoding.Embedding ? 4L * Enumerable.Range(0, nc).Sum(k => (long)vocab[k].Length * dims[k]) : 0;
            if (tableBytes > stream.Length - stream.Position)
                throw Bad("the embedding tables are longer than the file");
            var model = new TabularModel(target, (TabularTask)task, (CategoricalEncoding)encoding, cats, vocab, conts, means, stds, labels,
                targetMean, targetStd, dims, hidden, dropout, 0);
            try
            {
                foreach (var p in model.Head.Parameters)
                {
                    int n = r.ReadInt32();
                    if (n != p.Length)
                        throw Bad($"parameter '{p.Name}' has {n} values but the architecture needs {p.Length}");
                    stream.ReadExactly(MemoryMarshal.AsBytes(p.Value.AsSpan()));
                }
                if (model.Tables is not null)
                {
                    for (int k = 0; k < nc; k++)
                    {
                        model.Tables[cats[k]].CopyFrom(file.Floats((long)vocab[k].Length * dims[k]));
                    }
                }
                file.ExpectEnd();
                return model;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        catch (EndOfStreamException)
        {
            throw Bad("the file ends early (truncated)");
        }
    }
}
