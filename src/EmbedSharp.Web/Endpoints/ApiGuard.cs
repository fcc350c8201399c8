using System.Text.Json;
using EmbedSharp.Formats;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EmbedSharp.Web.Endpoints;

/// <summary>A request the client can fix: answered with its status and a one-line message.</summary>
internal sealed class ApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    public static ApiException BadRequest(string op, string text) => new(StatusCodes.Status400BadRequest, $"[{op}] {text}");
}

/// <summary>
/// Bounds every request (query length, body size) and turns failures into <c>{"error": "..."}</c>
/// with one line: 400 for bad input, 413 for a body, 503 for a timeout (each request's
/// <c>RequestAborted</c> fires after the configured time), 500 otherwise — never a stack trace.
/// </summary>
internal sealed class ApiGuard(RequestDelegate next, ExplorerOptions options, ILogger<ApiGuard> logger)
{
    public async Task InvokeAsync(HttpContext ctx)
    {
        ctx.Response.Headers["X-Content-Type-Options"] = "nosniff";
        var query = ctx.Request.QueryString.Value ?? "";
        if (query.Length > options.MaxQueryLength)
        {
            await Fail(ctx, StatusCodes.Status400BadRequest, $"[api] query string is {query.Length:N0} bytes; the limit is {options.MaxQueryLength:N0}");
            return;
        }
        if (ctx.Request.ContentLength > options.MaxBodyBytes)
        {
            await Fail(ctx, StatusCodes.Status413PayloadTooLarge, $"[api] request body of {ctx.Request.ContentLength:N0} bytes; the API takes parameters in the query string (body limit {options.MaxBodyBytes:N0} bytes)");
            return;
        }
        var clientGone = ctx.RequestAborted;
        var timeout = ctx.Request.Path.StartsWithSegments("/api/projection") ? options.ProjectionTimeout : options.RequestTimeout;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(clientGone);
        limit.CancelAfter(timeout);
        ctx.RequestAborted = limit.Token;
        try
        {
            await next(ctx);
        }
        catch (ApiException ex)
        {
            await Fail(ctx, ex.Status, ex.Message);
        }
        catch (Exception ex) when (ex is ArgumentException or KeyNotFoundException or EmbeddingFormatException or FileNotFoundException or InvalidDataException)
        {
            await Fail(ctx, StatusCodes.Status400BadRequest, OneLine(ex));
        }
        catch (OperationCanceledException) when (clientGone.IsCancellationRequested)
        {
            // The client went away: nobody to answer.
        }
        catch (OperationCanceledException)
        {
            await Fail(ctx, StatusCodes.Status503ServiceUnavailable, $"[api] the request took longer than {timeout.TotalSeconds:0} s and was stopped; ask for fewer points or a smaller k");
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Unhandled error on {Path}", ctx.Request.Path);
            await Fail(ctx, StatusCodes.Status500InternalServerError, "[api] internal error; the server log has the details");
        }
    }

    /// <summary>The message without .NET's "(Parameter 'x')" suffix, first line only.</summary>
    internal static string OneLine(Exception ex)
    {
        string message = ex.Message;
        if (ex is ArgumentException { ParamName: string name })
            message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        int newline = message.IndexOf('\n');
        return (newline >= 0 ? message[..newline] : message).TrimEnd('\r');
    }

    private static async Task Fail(HttpContext ctx, int status, string message)
    {
        if (ctx.Response.HasStarted)
            return;
        ctx.Response.Clear();
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(ctx.Response.Body, new ErrorDto(message), WebJsonContext.Api.ErrorDto);
    }
}
