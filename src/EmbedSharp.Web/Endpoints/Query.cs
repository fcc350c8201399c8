using System.Globalization;
using EmbedSharp.Web.Catalog;
using Microsoft.AspNetCore.Http;

namespace EmbedSharp.Web.Endpoints;

/// <summary>Reads and checks one request's query parameters; every failure is a 400 with the op and the valid values.</summary>
internal readonly struct Query(HttpContext ctx, string op)
{
    public const int MaxWordLength = 200;

    public string Op => op;

    /// <summary>Refuses parameters the route does not take and parameters given twice.</summary>
    public Query Allow(params string[] names)
    {
        foreach (var (key, values) in ctx.Request.Query)
        {
            if (!names.Contains(key, StringComparer.Ordinal))
                throw ApiException.BadRequest(op, $"unknown parameter '{Clip(key)}'; valid: {string.Join(", ", names)}");
            if (values.Count > 1)
                throw ApiException.BadRequest(op, $"parameter '{key}' given {values.Count} times; give it once");
        }
        return this;
    }

    public string? Optional(string name) => ctx.Request.Query.TryGetValue(name, out var v) ? v.ToString() : null;

    public string Text(string name, int maxLength = MaxWordLength)
    {
        string? value = Optional(name);
        if (string.IsNullOrEmpty(value))
            throw ApiException.BadRequest(op, $"parameter '{name}' is required");
        if (value.Length > maxLength)
            throw ApiException.BadRequest(op, $"parameter '{name}' is {value.Length} characters; the limit is {maxLength}");
        return value;
    }

    public int Int(string name, int fallback, int min, int max)
    {
        string? value = Optional(name);
        if (value is null)
            return fallback;
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
            throw ApiException.BadRequest(op, $"{name} '{Clip(value)}' is not a whole number in {min}..{max}");
        return n;
    }

    public double Double(string name, double fallback, double min, double max)
    {
        string? value = Optional(name);
        if (value is null)
            return fallback;
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !(x >= min && x <= max))
            throw ApiException.BadRequest(op, $"{name} '{Clip(value)}' is not a number in {min}..{max}");
        return x;
    }

    public string Choice(string name, string fallback, params string[] valid)
    {
        string? value = Optional(name);
        if (value is null)
            return fallback;
        if (!valid.Contains(value, StringComparer.Ordinal))
            throw ApiException.BadRequest(op, $"{name} '{Clip(value)}' is not one of {string.Join(", ", valid)}");
        return value;
    }

    public bool Flag(string name) => Choice(name, "false", "true", "false") == "true";

    public ExplorerTable Table(TableCatalog catalog)
    {
        string name = Text("table", 512);
        try
        {
            return catalog.Get(op, name);
        }
        catch (ArgumentException ex)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, ApiGuard.OneLine(ex));
        }
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
