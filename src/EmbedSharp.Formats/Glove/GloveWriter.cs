using EmbedSharp.Formats.Word2Vec;

namespace EmbedSharp.Formats.Glove;

/// <summary>Writes GloVe text: <c>word v1 … vD\n</c> per row, no header, shortest round-trip values.</summary>
internal sealed class GloveWriter : Word2VecTextWriter
{
    public GloveWriter(Stream stream, int dims)
        : base(stream, 0, dims, "glove.write", header: false)
    {
    }
}
