using System.Text;
using EmbedSharp.Tables;
using EmbedSharp.Training.FastText;

/// <summary>
/// Writes a <see cref="FastTextTrainedModel"/> as a fastText 0.9.2 <c>.bin</c> (version 12), so the
/// benchmark can check that Debian's <c>fasttext</c> loads our models and computes the same vectors.
/// </summary>
/// <remarks>
/// This is the benchmark's own stand-in: the library's writer is EmbedSharp.Formats' FastTextModel,
/// which has no public constructor from plain parts yet (see docs/notes/issue-8.md). Layout, all
/// little-endian: magic 0x2F4F16BA, version; the args (12 int32 and the double t); the dictionary
/// (size, nwords, nlabels, int64 ntokens, int64 prune-index size −1, then per word its UTF-8 bytes, a
/// NUL, int64 count, int8 type 0); quant flag 0 and the input matrix (int64 rows, int64 cols, floats);
/// quant flag 0 and the output matrix.
/// </remarks>
static class FastTextBin
{
    public static void Write(string path, FastTextTrainedModel model)
    {
        string tmp = path + ".tmp";
        using (var w = new BinaryWriter(File.Create(tmp), Encoding.UTF8, leaveOpen: false))
        {
            var a = model.Args;
            w.Write(793712314);
            w.Write(12);
            foreach (int x in new[] { a.Dims, a.WindowSize, a.Epoch, a.MinCount, a.Neg, a.WordNgrams, (int)a.Loss, (int)a.Model, a.EffectiveBucket, a.Minn, a.Maxn, a.LrUpdateRate })
                w.Write(x);
            w.Write(a.SamplingThreshold);
            int n = model.Words.Count;
            w.Write(n);
            w.Write(n);
            w.Write(0);
            w.Write(model.NumTokens);
            w.Write(-1L);
            for (int i = 0; i < n; i++)
            {
                w.Write(Encoding.UTF8.GetBytes(model.Words[i]));
                w.Write((byte)0);
                w.Write(model.Counts[i]);
                w.Write((byte)0);
            }
            WriteMatrix(w, model.Input);
            WriteMatrix(w, model.Output);
        }
        File.Move(tmp, path, overwrite: true);
    }

    private static void WriteMatrix(BinaryWriter w, EmbeddingTable t)
    {
        w.Write((byte)0);
        w.Write((long)t.NumEmbeddings);
        w.Write((long)t.Dims);
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.AsSpan<float>()));
    }
}
