using System.Text.Json;
using System.Text.Json.Serialization;

namespace EmbedSharp.Web.Endpoints;

// The API's response shapes (stable names, camelCase in JSON). README.md documents them.

internal sealed record ErrorDto(string Error);

internal sealed record TableSummaryDto(string Name, string Format, int NumEmbeddings, int Dims, string Dtype, bool HasSubwords,
    string? Stored, string Search);

internal sealed record TablesDto(IReadOnlyList<TableSummaryDto> Tables, IReadOnlyList<string> Available);

internal sealed record HistogramDto(double Min, double Max, IReadOnlyList<int> Counts);

internal sealed record QuantizationReportDto(string Scheme, int Bits, long BytesBefore, long BytesAfter, double CompressionRatio,
    double MaxAbsError, double RmsError, double MeanCosine, double MinCosine);

internal sealed record TableFactsDto(TableSummaryDto Table, long Bytes, IReadOnlyList<string> FirstWords, HistogramDto Norms,
    IReadOnlyList<QuantizationReportDto> Quantization);

internal sealed record NeighborDto(string Word, double Score);

internal sealed record NeighborsDto(string Table, string Word, int K, bool Subword, bool Approximate, string Search, IReadOnlyList<NeighborDto> Neighbors);

internal sealed record AnalogyDto(string Table, string A, string B, string C, int K, IReadOnlyList<NeighborDto> Results);

internal sealed record CompletionDto(string Prefix, IReadOnlyList<string> Words);

internal sealed record PointDto(string Word, double X, double Y);

internal sealed record ProjectionDto(string Table, string Method, string? Word, int N, double Seconds, IReadOnlyList<PointDto> Points);

internal sealed record ProgressDto(string Stage, double Progress);

internal sealed record QuantizedNeighborsDto(int Bits, string Scheme, double Overlap, IReadOnlyList<NeighborDto> Neighbors, QuantizationReportDto Report);

internal sealed record CompareDto(string Table, string Word, int K, IReadOnlyList<NeighborDto> Float32, IReadOnlyList<QuantizedNeighborsDto> Quantized);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ErrorDto))]
[JsonSerializable(typeof(TablesDto))]
[JsonSerializable(typeof(TableFactsDto))]
[JsonSerializable(typeof(NeighborsDto))]
[JsonSerializable(typeof(AnalogyDto))]
[JsonSerializable(typeof(CompletionDto))]
[JsonSerializable(typeof(ProjectionDto))]
[JsonSerializable(typeof(ProgressDto))]
[JsonSerializable(typeof(CompareDto))]
internal sealed partial class WebJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context the API writes with: as the generated one, with quotes and non-ASCII words left
    /// readable (the responses are application/json, never embedded in HTML).
    /// </summary>
    public static WebJsonContext Api { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
