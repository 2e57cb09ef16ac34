import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

/**
 * A real Neo4j 5.26 server for tests and developers: the embedded DBMS with its Bolt connector
 * on 127.0.0.1, authentication on, and the password of user {@code neo4j} set from the
 * environment variable {@code NEO4J_PASSWORD} (never from the command line, where {@code ps}
 * would show it).
 *
 * <p>Usage: {@code java -cp 'lib/*' Launcher <home> [port]}. A port of 0 or none picks a free
 * one. The page cache is {@code NEO4J_PAGECACHE_MB} megabytes, 128 by default (the heap is the
 * JVM's {@code -Xmx}). Prints {@code READY bolt://127.0.0.1:<port>} once the server answers, then runs until
 * it gets SIGTERM, when it shuts down cleanly.
 */
public final class Launcher {
    private Launcher() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: Launcher <home> [port]");
            System.exit(2);
        }
        String password = System.getenv("NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {
            System.err.println("NEO4J_PASSWORD must be set to at least 8 characters");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Files.createDirectories(home);
        int port = args.length == 2 ? Integer.parseInt(args[1]) : 0;
        String pageCache = System.getenv().getOrDefault("NEO4J_PAGECACHE_MB", "128");
        if (port == 0) {
            port = freePort();
        }

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                // Small by default: tests and the demo city fit, and CI machines have 2 cores.
                .setConfig(GraphDatabaseSettings.pagecache_memory,
                        ByteUnit.mebiBytes(Long.parseLong(pageCache)))
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofMinutes(10))
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown, "neo4j-shutdown"));
        try {
            setPassword(dbms, password);
            dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME)
                    .executeTransactionally("RETURN 1");
        } catch (RuntimeException e) {
            // Without this the DBMS's threads would keep a server that never got ready alive.
            e.printStackTrace();
            System.exit(1);
        }
        System.out.println("READY neo4j://127.0.0.1:" + port);
        System.out.flush();
    }

    /**
     * The DBMS creates user neo4j with password "neo4j" and a forced change on first start; set
     * ours through the system database so Bolt clients log in with it directly. Later starts
     * on the same home keep the password set then ({@code ./dev neo4j} keeps it beside).
     */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        var system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        boolean initial = system.executeTransactionally(
                "SHOW USERS YIELD user, passwordChangeRequired WHERE user = 'neo4j' "
                        + "RETURN passwordChangeRequired",
                Map.of(),
                result -> result.hasNext() && (Boolean) result.next().get("passwordChangeRequired"));
        if (initial) {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        }
    }
}
